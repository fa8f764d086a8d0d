import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { readLake, readManifest, tmpDir, walk, writeGenerated, TEST_SECRET } from './ingest.test-util';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(__dirname, 'cli.ts');
const TSX = require.resolve('tsx/cli', { paths: [ROOT] });

function runCli(
  raw: string,
  data: string,
  onPartition?: (child: ReturnType<typeof spawn>) => void,
  stderr: string[] = [],
): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, CLI], {
      cwd: ROOT,
      env: { ...process.env, RAW_DIR: raw, DATA_DIR: data, BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (onPartition) {
      // Kill as soon as some (not all) partitions are in place: a real mid-write crash.
      timer = setInterval(() => {
        const lake = dataLayout(data).lake;
        if (
          fs.existsSync(lake) &&
          fs.readdirSync(lake).filter((d) => fs.existsSync(path.join(lake, d, 'part-0.parquet'))).length >= 3
        ) {
          clearInterval(timer);
          onPartition(child);
        }
      }, 2);
    }
    child.on('error', reject);
    child.on('exit', (code) => {
      if (timer) clearInterval(timer);
      resolve(code);
    });
  });
}

describe('crash safety', () => {
  it('a run killed with SIGKILL midway, then re-run, equals an uninterrupted run', async () => {
    const raw = tmpDir('raw');
    writeGenerated(raw, 'a.csv', { rows: 3000, seed: 21, start: '2019-06-01', end: '2019-07-15' });
    writeGenerated(raw, 'b.csv', { rows: 1500, seed: 22, start: '2019-07-01', end: '2019-07-31' });

    const clean = tmpDir('clean');
    expect(await runCli(raw, clean)).toBe(0);

    const crashed = tmpDir('crashed');
    await runCli(raw, crashed, (child) => child.kill('SIGKILL'));
    // Killed before the manifest, the last write: the run was really interrupted.
    expect(fs.existsSync(dataLayout(crashed).ingestManifest)).toBe(false);
    const partial = walk(dataLayout(crashed).lake).filter(
      (f) => f.endsWith('.parquet') && !path.basename(f).startsWith('.'),
    );
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(Object.keys(readManifest(clean).partitions).length);

    expect(await runCli(raw, crashed)).toBe(0);
    expect(readManifest(crashed)).toEqual(readManifest(clean));
    expect(readLake(crashed)).toEqual(readLake(clean));
    expect(walk(path.dirname(dataLayout(crashed).lake)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});

describe('ingest CLI', () => {
  it('exits 1 with a message naming the file on a wrong header', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    fs.writeFileSync(path.join(raw, 'drop.csv'), 'id;valor\r\n1;2\r\n');
    const stderr: string[] = [];
    expect(await runCli(raw, data, undefined, stderr)).toBe(1);
    expect(stderr.join('')).toMatch(/drop\.csv: wrong header: missing columns "safra_abertura"/);
  });
});
