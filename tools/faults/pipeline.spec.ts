/**
 * Whole-pipeline faults (docs/reliability.md): concurrent runs on one data folder, a killed run, a cache
 * hit for a deleted data folder, a failing stage. Real runs of `npm run pipeline` (tools/run-pipeline.js)
 * on the committed sample into data folders outside the repository; slow (several pipeline runs).
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const RUN_PIPELINE = path.join(ROOT, 'tools', 'run-pipeline.js');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
// The file each stage must leave in the data folder (tools/data-folder.js).
const OUTPUTS: Record<string, string> = {
  ingest: 'lake/manifest.json',
  features: 'feature-store/manifest.json',
  build: 'master/latest.json',
  train: 'registry/aliases.json',
  evaluate: 'reports/index.html',
  monitor: 'monitoring/report/alarms.json',
};
const PIPELINE_MS = 30 * 60_000;

// CI=true without FORCE_COLOR=0: the case where colour codes used to break the table.
function env(dataDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    CI: 'true',
    DATA_DIR: dataDir,
    RAW_DIR: path.join(ROOT, 'data', 'raw'),
    ...extra,
  };
  delete e.FORCE_COLOR;
  delete e.BOLSILLO_DATA_LOCK;
  return e;
}

function pipeline(dataDir: string, extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [RUN_PIPELINE], {
    cwd: ROOT,
    env: env(dataDir, extra),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
}

/** The closing table's rows: stage → last column (hit, miss, FAILED, not run). */
function tableOf(stdout: string): Record<string, string> {
  const table = stdout.slice(stdout.lastIndexOf('Pipeline summary'));
  const rows: Record<string, string> = {};
  for (const line of table.split('\n').slice(3)) {
    const m = /^(\w+)\s.*?\s(hit|miss|FAILED|not run)$/.exec(line);
    if (m) rows[m[1]!] = m[2]!;
  }
  return rows;
}

const missing = (dataDir: string) =>
  Object.entries(OUTPUTS)
    .filter(([, f]) => !fs.existsSync(path.join(dataDir, f)))
    .map(([s]) => s);

async function until(what: string, ok: () => boolean, ms = PIPELINE_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('pipeline faults on one data folder (the committed sample, DATA_DIR outside the repository)', () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-faults-'));
  const dataDir = path.join(base, 'data');
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

  it(
    'refuses a second pipeline and a stage run while one runs; a killed run leaves a stale lock',
    async () => {
      const first = spawn(process.execPath, [RUN_PIPELINE], {
        cwd: ROOT,
        env: env(dataDir),
        detached: true,
        stdio: 'ignore',
      });
      try {
        await until('ingest of the first run', () => fs.existsSync(path.join(dataDir, OUTPUTS.ingest!)));
        const lock = JSON.parse(fs.readFileSync(path.join(dataDir, '.pipeline.lock'), 'utf8')) as {
          pid: number;
          what: string;
        };
        expect(lock).toMatchObject({ pid: first.pid, what: 'pipeline' });

        const second = pipeline(dataDir);
        expect(second.status).toBe(1);
        expect(second.stderr).toMatch(
          new RegExp(
            `pipeline: refused: another pipeline \\(pid ${first.pid}, pipeline, since .*\\) is running on ${dataDir}`,
          ),
        );
        const stage = spawnSync(TSX, [path.join(ROOT, 'packages/ingest/src/cli.ts')], {
          cwd: ROOT,
          env: env(dataDir),
          encoding: 'utf8',
        });
        expect(stage.status).toBe(1);
        expect(stage.stderr).toMatch(/\[ingest\] error: refused: pipeline \(pid \d+/);
      } finally {
        // A crash: the whole process group dies at once, mid-stage.
        process.kill(-first.pid!, 'SIGKILL');
        await until('the killed run to be gone', () => !groupAlive(first.pid!), 60_000);
      }
      expect(fs.existsSync(path.join(dataDir, '.pipeline.lock'))).toBe(true);
      expect(missing(dataDir).length).toBeGreaterThan(0);
    },
    PIPELINE_MS,
  );

  it(
    'the next run takes over the stale lock and completes every stage, exit 0',
    () => {
      const r = pipeline(dataDir);
      expect(r.status).toBe(0);
      expect(missing(dataDir)).toEqual([]);
      expect(fs.existsSync(path.join(dataDir, '.pipeline.lock'))).toBe(false);
      expect(Object.keys(tableOf(r.stdout))).toEqual(Object.keys(OUTPUTS));
    },
    PIPELINE_MS,
  );

  it(
    'a second run with nothing changed is all cache hits; the table has no colour codes under CI=true and names the units',
    () => {
      const r = pipeline(dataDir);
      expect(r.status).toBe(0);
      expect(tableOf(r.stdout)).toEqual(Object.fromEntries(Object.keys(OUTPUTS).map((s) => [s, 'hit'])));
      const table = r.stdout.slice(r.stdout.lastIndexOf('Pipeline summary'));
      expect(table.includes(String.fromCharCode(27))).toBe(false); // no ANSI escape
      expect(table).toMatch(/^train\s+\d+ training rows\s+\d+ models\s/m);
      expect(table).toMatch(/^evaluate\s+\d+ rows\s+\d+ scored rows\s/m);
      expect(table).toMatch(/^monitor\s+\d+ window rows\s+\d+ actions\s/m);
      expect(r.stdout).not.toMatch(/ingest: \[ingest\]/); // one prefix per line, not Nx's and the stage's
      expect(r.stdout).not.toMatch(/cloud\.nx\.app|Nx Cloud/);
    },
    PIPELINE_MS,
  );

  it(
    'a deleted data folder is rebuilt, not replayed from the cache',
    () => {
      fs.rmSync(dataDir, { recursive: true, force: true });
      const r = pipeline(dataDir);
      expect(r.status).toBe(0);
      expect(missing(dataDir)).toEqual([]);
      expect(Object.values(tableOf(r.stdout))).toEqual(Object.keys(OUTPUTS).map(() => 'miss'));
    },
    PIPELINE_MS,
  );

  it(
    'a failing stage makes the pipeline exit 1 (not 130), the table naming it FAILED and the rest not run',
    () => {
      const emptyRaw = fs.mkdtempSync(path.join(base, 'raw-'));
      const r = pipeline(path.join(base, 'failing'), { RAW_DIR: emptyRaw });
      expect(r.status).toBe(1);
      expect(tableOf(r.stdout)).toEqual({
        ingest: 'FAILED',
        features: 'not run',
        build: 'not run',
        train: 'not run',
        evaluate: 'not run',
        monitor: 'not run',
      });
      expect(r.stdout).toMatch(/ingest failed: no \*\.csv files in /);
    },
    PIPELINE_MS,
  );
});
