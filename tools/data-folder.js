// The data folder's identity, its lock and the outputs each pipeline stage must leave in it. Shared by
// tools/run-pipeline.js, tools/data-identity.js (an Nx runtime input) and the fault tests.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

/** DATA_DIR resolved as the stages resolve it (core's dirsFromEnv). */
function dataDirFromEnv(env = process.env, cwd = process.cwd()) {
  return path.resolve(cwd, env.DATA_DIR || 'data');
}

const IDENTITY_FILE = '.bolsillo-id';
const LOCK_FILE = '.pipeline.lock';
/** Environment variable naming the pid that holds the data folder's lock for a whole pipeline run. */
const LOCK_ENV = 'BOLSILLO_DATA_LOCK';

/**
 * The data folder's identity: a random id written once into the folder. Nx hashes it as an input of every
 * pipeline target, so a deleted (or new) data folder gets a new id and every stage runs again instead of
 * replaying a cache entry whose outputs live outside the workspace and were never stored.
 */
function dataIdentity(dataDir) {
  const file = path.join(dataDir, IDENTITY_FILE);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const id = crypto.randomUUID();
    try {
      fs.writeFileSync(file, `${id}\n`, { flag: 'wx' });
      return id;
    } catch {
      return fs.readFileSync(file, 'utf8').trim(); // another process wrote it first
    }
  }
}

/** Forget the identity, so that the next run misses the cache for every stage. */
function rotateIdentity(dataDir) {
  fs.rmSync(path.join(dataDir, IDENTITY_FILE), { force: true });
}

/** The file whose presence shows that a stage's outputs are in the data folder, per pipeline stage, in run order. */
const STAGE_OUTPUTS = {
  ingest: 'lake/manifest.json',
  features: 'feature-store/manifest.json',
  build: 'master/latest.json',
  train: 'registry/aliases.json',
  evaluate: 'reports/index.html',
  monitor: 'monitoring/report/alarms.json',
};

/** Stages whose output file is missing from the data folder. */
function missingOutputs(dataDir, stages = Object.keys(STAGE_OUTPUTS)) {
  return stages.filter((s) => STAGE_OUTPUTS[s] && !fs.existsSync(path.join(dataDir, STAGE_OUTPUTS[s])));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Take the data folder's lock (a file created exclusively, holding the owner's pid). Returns a release
 * function, or `{ held }` describing the live owner. A lock left by a dead process is taken over.
 */
function acquireLock(dataDir, what) {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify({ pid: process.pid, what, started_at: new Date().toISOString() }) + '\n', {
        flag: 'wx',
      });
      return {
        release: () => {
          const owner = readLock(dataDir);
          if (owner && owner.pid === process.pid) fs.rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const owner = readLock(dataDir);
      if (owner && alive(owner.pid)) return { held: owner };
      fs.rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  return { held: readLock(dataDir) ?? { pid: 0, what: 'unknown' } };
}

function readLock(dataDir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dataDir, LOCK_FILE), 'utf8'));
  } catch {
    return null;
  }
}

module.exports = {
  dataDirFromEnv,
  dataIdentity,
  rotateIdentity,
  missingOutputs,
  acquireLock,
  readLock,
  STAGE_OUTPUTS,
  LOCK_ENV,
  LOCK_FILE,
  IDENTITY_FILE,
};
