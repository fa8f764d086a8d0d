import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dataLayout,
  generate,
  listPartitions,
  readParquetFile,
  rowsFromTable,
  type GenerateOptions,
} from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import { mergeIngest } from './ingest-shards';
import { ingestLanding } from './landing';
import type { IngestManifest } from './lake';
import { runIngest } from './run';

/** A fresh temporary folder for one test. */
export function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-ingest-${label}-`));
}

/** Write a generated MiBolsillo file into a raw folder. */
export function writeGenerated(rawDir: string, name: string, options: GenerateOptions): string {
  fs.mkdirSync(rawDir, { recursive: true });
  const file = path.join(rawDir, name);
  fs.writeFileSync(file, generate(options));
  return file;
}

export const TEST_SECRET = 'test-secret-7f3a9c1e-never-in-outputs';

/** Run ingest quietly with a fixed secret. */
export function ingest(rawDir: string, dataDir: string, backfill = false) {
  return runIngest({
    rawDir,
    dataDir,
    backfill,
    env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
    log: () => undefined,
  });
}

/** Every row of the lake, partition by partition. */
export function readLake(dataDir: string): Transaction[] {
  return listPartitions(dataLayout(dataDir).lake).flatMap((p) =>
    p.files.flatMap((f) => rowsFromTable<Transaction>(readParquetFile(f))),
  );
}

export function readManifest(dataDir: string): IngestManifest {
  return JSON.parse(fs.readFileSync(dataLayout(dataDir).ingestManifest, 'utf8')) as IngestManifest;
}

/** Every file under a folder. */
export function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** A raw folder of two generated files, one with two rows ingest quarantines (an impossible age, a date that does not exist). */
export function rawFolderWithQuarantine(label: string): string {
  const raw = tmpDir(label);
  writeGenerated(raw, 'a.csv', { rows: 2000, seed: 31, start: '2019-06-01', end: '2019-08-15' });
  const b = writeGenerated(raw, 'b.csv', { rows: 1000, seed: 32, start: '2019-08-01', end: '2019-09-30' });
  const lines = fs.readFileSync(b, 'latin1').split('\r\n');
  const bad = (line: string, field: number, value: string) =>
    line
      .split(';')
      .map((v, i) => (i === field ? value : v))
      .join(';');
  lines.splice(5, 0, bad(lines[3]!, 4, '240'), bad(lines[4]!, 8, '31.02.2019'));
  fs.writeFileSync(b, Buffer.from(lines.join('\r\n'), 'latin1'));
  return raw;
}

const quiet = () => undefined;

/** Shard `index` of `count` as its CLI runs it: source files, then its landed transactions. */
export async function ingestShard(raw: string, data: string, index: number, count: number, paramsFile?: string) {
  await runIngest({
    rawDir: raw,
    dataDir: data,
    env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
    log: quiet,
    shard: { index, count },
    ...(paramsFile ? { paramsFile } : {}),
  });
  ingestLanding(data, quiet, { index, count });
}

/** Shards 0..n-1 one after the other (each as its CLI runs it), then the merge. */
export async function ingestSharded(raw: string, data: string, n: number, paramsFile?: string) {
  for (let i = 0; i < n; i++) await ingestShard(raw, data, i, n, paramsFile);
  return mergeIngest({ dataDir: data, shards: n, log: quiet, ...(paramsFile ? { paramsFile } : {}) });
}
