import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SECRET_ENV, sha256File } from '@bolsillo/core';
import { IngestError } from './dialect';
import { planIngest, type IngestManifest, type IngestPlan } from './lake';

/** A file quarantined whole: its hash when rejected and why. */
export interface RejectedFile {
  readonly sha256: string;
  readonly reason: string;
}

/** What a run will do, decided before any file is parsed. */
export interface IngestRunPlan extends IngestPlan {
  /** Every source file of the raw folder (`*.csv`, sorted) → its sha256. */
  readonly hashes: Readonly<Record<string, string>>;
  /** Files rejected by an earlier run and unchanged since: they stay rejected without being parsed. */
  readonly rejectedBefore: Readonly<Record<string, RejectedFile>>;
}

/** The `*.csv` files of `rawDir` (hidden ones excluded), sorted, with their sha256. */
export async function hashSourceFiles(rawDir: string): Promise<Record<string, string>> {
  if (!fs.existsSync(rawDir)) throw new Error(`raw folder ${rawDir} does not exist`);
  const names = fs
    .readdirSync(rawDir)
    .filter((f) => f.toLowerCase().endsWith('.csv') && !f.startsWith('.'))
    .sort();
  if (names.length === 0) throw new Error(`no *.csv files in ${rawDir}`);
  const hashes: Record<string, string> = {};
  for (const f of names) hashes[f] = await sha256File(path.join(rawDir, f));
  return hashes;
}

/**
 * Decide what a run does ({@link planIngest}), leaving out the files an earlier run rejected whole and
 * that have not changed since (a backfill tries them again). Pure.
 */
export function planRun(
  hashes: Readonly<Record<string, string>>,
  manifest: IngestManifest,
  backfill: boolean,
): IngestRunPlan {
  const rejectedBefore = Object.fromEntries(
    Object.entries(manifest.rejected ?? {}).filter(([f, r]) => !backfill && hashes[f] === r.sha256),
  );
  const candidates = Object.fromEntries(Object.entries(hashes).filter(([f]) => !(f in rejectedBefore)));
  return { ...planIngest(candidates, manifest, backfill), hashes, rejectedBefore };
}

/** Whether the plan changes nothing: no file to parse, none to drop. */
export function isNothingToDo(plan: IngestPlan): boolean {
  return plan.parse.length === 0 && plan.drop.length === 0;
}

/** A fingerprint of the pseudonymisation secret (an HMAC of a fixed label under it): tells secrets apart, reveals nothing. */
export function secretFingerprint(secret: string): string {
  return crypto.createHmac('sha256', secret).update('bolsillo secret fingerprint v1').digest('hex').slice(0, 16);
}

/**
 * The secret's fingerprint, after checking it is the one the lake was built with: customer keys are HMACs
 * under the secret, so a lake built under one secret must not grow under another (a backfill re-keys
 * every file and may change it).
 */
export function checkSecret(secret: string, manifest: IngestManifest, backfill: boolean): string {
  const fingerprint = secretFingerprint(secret);
  if (
    !backfill &&
    Object.keys(manifest.files).length > 0 &&
    manifest.secret_fingerprint &&
    manifest.secret_fingerprint !== fingerprint
  ) {
    throw new IngestError(
      `${SECRET_ENV} differs from the secret the lake was built with (fingerprint ${fingerprint} vs ${manifest.secret_fingerprint}): ` +
        'the new files would give their customers other keys and split them. Use the original secret, or rotate it with --backfill, which re-pseudonymises every file.',
    );
  }
  return fingerprint;
}
