import fs from 'node:fs';
import path from 'node:path';

/** One Hive partition folder `date=YYYY-MM-DD`. */
export interface DatePartition {
  readonly date: string;
  readonly dir: string;
  /** Parquet files in the partition, sorted by name. */
  readonly files: readonly string[];
}

const PARTITION = /^date=(\d{4}-\d{2}-\d{2})$/;

/** The folder of a date partition under a dataset root. */
export function partitionDir(root: string, date: string): string {
  return path.join(root, `date=${date}`);
}

/** Date partitions under a dataset root, oldest first, optionally limited to `[from, to]` (inclusive). */
export function listPartitions(root: string, range: { from?: string; to?: string } = {}): DatePartition[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => PARTITION.exec(e.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1]!)
    .filter((date) => (!range.from || date >= range.from) && (!range.to || date <= range.to))
    .sort()
    .map((date) => {
      const dir = partitionDir(root, date);
      const files = fs
        .readdirSync(dir)
        .filter((f) => f.endsWith('.parquet') && !f.startsWith('.'))
        .sort()
        .map((f) => path.join(dir, f));
      return { date, dir, files };
    });
}
