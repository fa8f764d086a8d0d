import fs from 'node:fs';
import path from 'node:path';

/**
 * The k-th continuation (k ≥ 1) of a Parquet table written as several files: `master.parquet` →
 * `master.1.parquet`. A table is split when it would pass what one reader can open (parquet-wasm is
 * 32-bit: a file past 4 GiB cannot be read back), and the core readers read the whole set.
 */
export function parquetContinuation(file: string, k: number): string {
  const ext = path.extname(file);
  return path.join(path.dirname(file), `${path.basename(file, ext)}.${k}${ext}`);
}

/** The files of a Parquet table in row order: `file`, then its continuations while they exist. */
export function parquetFileSet(file: string): string[] {
  const files = [file];
  for (let k = 1; fs.existsSync(parquetContinuation(file, k)); k++) files.push(parquetContinuation(file, k));
  return files;
}
