import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataLock, DATA_LOCK_ENV, DATA_LOCK_FILE } from './data-lock';
import { invalidOptions, isoDateCheck } from './cli';

const ROOT = path.resolve(__dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

function stage(cli: string, args: string[], dataDir: string) {
  return spawnSync(TSX, [path.join(ROOT, cli), ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir },
    encoding: 'utf8',
  });
}

describe('stage options', () => {
  it('rejects a value outside the choices or failing its check, naming what is valid', () => {
    const spec = {
      options: {
        backend: { type: 'string' as const, description: '', choices: ['wasm', 'cpu'] },
        'as-of': { type: 'string' as const, description: '', check: isoDateCheck },
      },
    };
    expect(invalidOptions(spec, { backend: 'cpu', 'as-of': '2020-05-07' })).toEqual([]);
    expect(invalidOptions(spec, { backend: 'gpu' })).toEqual([
      '--backend "gpu" is not valid; choose one of: wasm, cpu',
    ]);
    expect(invalidOptions(spec, { 'as-of': '2020/05/07' })).toEqual([
      '--as-of "2020/05/07" is not valid: expected a date as YYYY-MM-DD, e.g. 2020-05-07',
    ]);
    expect(invalidOptions(spec, { 'as-of': '2020-02-30' })[0]).toMatch(/not a calendar date/);
  });

  it.each([
    ['packages/train/src/cli.ts', ['--backend', 'gpu'], /--backend "gpu" is not valid; choose one of: wasm, cpu/],
    [
      'packages/build/src/cli.ts',
      ['--as-of', '2020/05/07'],
      /--as-of "2020\/05\/07" is not valid: expected a date as YYYY-MM-DD/,
    ],
  ])('%s %j exits 1 before doing anything', (cli, args, message) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-options-'));
    const r = stage(cli, args, dataDir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(fs.readdirSync(dataDir)).toEqual([]); // no model registered, no master table, no run record
  });
});

describe('data folder lock', () => {
  it('refuses a second writer while one holds the lock, joins the pipeline that holds it, takes over a dead owner', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-lock-'));
    const env: NodeJS.ProcessEnv = {};
    const release = acquireDataLock(dataDir, 'pipeline', env);
    expect(env[DATA_LOCK_ENV]).toBe(String(process.pid));
    // A stage of the same pipeline (the lock's pid in its environment) joins; anyone else is refused.
    expect(() => acquireDataLock(dataDir, 'build', { [DATA_LOCK_ENV]: String(process.pid) })()).not.toThrow();
    const other = stage('packages/build/src/cli.ts', [], dataDir);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(
      new RegExp(`refused: pipeline \\(pid ${process.pid}, since .*\\) is running on ${dataDir}`),
    );
    release();
    expect(fs.existsSync(path.join(dataDir, DATA_LOCK_FILE))).toBe(false);
    // A lock whose process is gone (a killed run) is taken over.
    fs.writeFileSync(path.join(dataDir, DATA_LOCK_FILE), JSON.stringify({ pid: 2 ** 22 + 12345, what: 'pipeline' }));
    const again = acquireDataLock(dataDir, 'ingest', {});
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, DATA_LOCK_FILE), 'utf8'))).toMatchObject({
      pid: process.pid,
      what: 'ingest',
    });
    again();
  });
});
