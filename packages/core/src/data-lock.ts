import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The lock file of a data folder: one pipeline (or stage run) writes to a data folder at a time. */
export const DATA_LOCK_FILE = '.pipeline.lock';
/** Environment variable naming the pid holding the lock for a whole pipeline run (set by tools/run-pipeline.js). */
export const DATA_LOCK_ENV = 'BOLSILLO_DATA_LOCK';

/** Who holds a data folder's lock. */
export interface DataLockOwner {
  readonly pid: number;
  readonly what: string;
  readonly started_at?: string;
  /** Host name of the owner: a pid means something only on its own host. */
  readonly host?: string;
}

function readOwner(file: string): DataLockOwner | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DataLockOwner;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the data folder's lock for one stage run, or join the pipeline run holding it (`env` names its
 * pid, passed down by tools/run-pipeline.js and inherited by a monitor's retrain). Throws when another
 * live process holds it, so that two runs never interleave their writes; a lock left by a dead process
 * is taken over. Returns the release function (a no-op when the lock belongs to the pipeline).
 */
export function acquireDataLock(dataDir: string, what: string, env: NodeJS.ProcessEnv = process.env): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, DATA_LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const owner: DataLockOwner = {
        pid: process.pid,
        what,
        started_at: new Date().toISOString(),
        host: os.hostname(),
      };
      fs.writeFileSync(file, JSON.stringify(owner) + '\n', { flag: 'wx' });
      env[DATA_LOCK_ENV] = String(process.pid); // children (a monitor's retrain) run under this lock
      return () => {
        if (readOwner(file)?.pid === process.pid) fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      if (owner && String(owner.pid) === env[DATA_LOCK_ENV]) return () => undefined;
      if (owner && alive(owner.pid)) {
        throw new Error(
          `refused: ${owner.what} (pid ${owner.pid}, since ${owner.started_at ?? '?'}) is running on ${dataDir}; two runs on one data folder would interleave their writes`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not take the lock ${file}`);
}

/** The lock file of one shard of a stage (shards of one stage run at once, each under its own lock). */
export function shardLockFile(stage: string, index: number): string {
  return `.shard-${stage}-${index}.lock`;
}

/**
 * Take the lock of shard `index` of a stage: shards run at the same time (pods of an Indexed Job on a
 * shared volume, or local processes), so each takes its own lock instead of the data folder's. Refused
 * while the data folder's lock is held by a live run that is not the caller's pipeline (`env`), or the
 * same shard runs on this host. A lock taken on another host is taken over: Kubernetes starts a
 * retry of an index only after its previous pod failed, and a pid cannot be checked across hosts.
 */
export function acquireShardLock(
  dataDir: string,
  stage: string,
  index: number,
  env: NodeJS.ProcessEnv = process.env,
): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const main = readOwner(path.join(dataDir, DATA_LOCK_FILE));
  if (
    main &&
    String(main.pid) !== env[DATA_LOCK_ENV] &&
    (main.host ?? os.hostname()) === os.hostname() &&
    alive(main.pid)
  )
    throw new Error(
      `refused: ${main.what} (pid ${main.pid}, since ${main.started_at ?? '?'}) is running on ${dataDir}; a shard would interleave its writes with it`,
    );
  const file = path.join(dataDir, shardLockFile(stage, index));
  const host = os.hostname();
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(
        file,
        JSON.stringify({
          pid: process.pid,
          what: `${stage} shard ${index}`,
          started_at: new Date().toISOString(),
          host,
        }) + '\n',
        { flag: 'wx' },
      );
      return () => {
        const owner = readOwner(file);
        if (owner?.pid === process.pid && owner.host === host) fs.rmSync(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = readOwner(file);
      if (owner && owner.host === host && alive(owner.pid))
        throw new Error(
          `refused: ${owner.what} (pid ${owner.pid}, since ${owner.started_at ?? '?'}) is already running on ${dataDir}`,
        );
      fs.rmSync(file, { force: true }); // stale, or its pod is gone
    }
  }
  throw new Error(`could not take the lock ${file}`);
}
