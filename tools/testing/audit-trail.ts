/** The registry's audit trail as a test compares it. */
import fs from 'node:fs';
import { registryLayout } from '@bolsillo/core';

/**
 * The lines of `registry/audit.jsonl` as written (not as `readAudit` completes them), without their
 * timestamps: a killed run and a clean one write equal trails at different times.
 */
export function auditTrail(registryDir: string): string[] {
  return fs
    .readFileSync(registryLayout(registryDir).registryAudit, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/"ts":"[^"]*"/, ''));
}
