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
