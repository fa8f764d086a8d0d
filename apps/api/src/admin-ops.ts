import path from 'node:path';
import { acquireDataLock } from '@bolsillo/core';
import { listVersions } from '@bolsillo/model';
import { DEFAULT_PARAMS_FILE, runEvaluate, runForcePromote, runRollback } from '@bolsillo/evaluate';
import type { RegistryOps } from './app';

/** Run `fn` holding the data folder's lock, as a stage run would (refused while a pipeline runs). */
async function locked<T>(dataDir: string, what: string, fn: () => T | Promise<T>): Promise<T> {
  const release = acquireDataLock(dataDir, what, {});
  try {
    return await fn();
  } finally {
    release();
  }
}

/**
 * The admin routes' registry operations: the evaluate stage's own commands, so `POST /admin/promote`
 * decides through the same gate as `evaluate --version V`, forces only as `force-promote` does (reason
 * required, audited as forced), and rolls back as `rollback --reason` does.
 */
export function evaluateRegistryOps(paramsFile = path.resolve(DEFAULT_PARAMS_FILE)): RegistryOps {
  return {
    listVersions,
    gatedPromote: (dataDir, version) =>
      locked(dataDir, 'api admin promote', () => runEvaluate({ dataDir, version, paramsFile, log: () => undefined })),
    forcePromote: (dataDir, version, reason) =>
      locked(dataDir, 'api admin force-promote', () => runForcePromote(dataDir, version, reason)),
    rollback: (dataDir, reason) => locked(dataDir, 'api admin rollback', () => runRollback(dataDir, reason)),
  };
}
