import fs from 'node:fs';
import path from 'node:path';
import {
  forEachParquetBatch,
  listPartitions,
  parquetToTable,
  readContract,
  readJsonl,
  readParquetColumnNames,
  rowsFromTable,
  Reservoir,
} from '@bolsillo/core';
import { FEATURE_NAMES, MasterLatestSchema, ProfileSchema, TARGET } from '@bolsillo/schema';
import type { DataLayout } from '@bolsillo/core';
import type { FeedbackLogEntry, PredictionLogEntry, Profile } from '@bolsillo/schema';

/** All JSON-lines files under `root/date=*` (optionally limited to a date range), concatenated. */
export function readDatedJsonl<T>(root: string, range: { from?: string; to?: string } = {}): T[] {
  if (!fs.existsSync(root)) return [];
  const out: T[] = [];
  for (const entry of fs.readdirSync(root).sort()) {
    const m = /^date=(\d{4}-\d{2}-\d{2})$/.exec(entry);
    if (!m) continue;
    if ((range.from && m[1]! < range.from) || (range.to && m[1]! > range.to)) continue;
    const dir = path.join(root, entry);
    for (const f of fs.readdirSync(dir).sort())
      if (f.endsWith('.jsonl') && !f.startsWith('.')) out.push(...readJsonl<T>(path.join(dir, f)));
  }
  return out;
}

/** The reference: `master/latest.json` → hash → profile, plus the master's last date. */
export interface Reference {
  readonly hash: string;
  readonly dir: string;
  readonly profile: Profile;
}

/** Read the build's reference profile; null when no master table has been built yet. */
export function readReference(layout: DataLayout): Reference | null {
  const latest = readContract(layout.masterLatest, MasterLatestSchema, null);
  if (!latest) return null;
  const profile = readContract(layout.masterProfile(latest.hash), ProfileSchema);
  return { hash: latest.hash, dir: layout.masterDir(latest.hash), profile };
}

/**
 * What the monitor needs of the master table: its last date, and the first `testRows` test-split
 * rows to score. Streamed in two projected passes (date and split over every row, then feature
 * columns only until enough test rows are in), so memory does not grow with the master table.
 */
export async function readMasterSample(
  refDir: string,
  testRows: number,
): Promise<{ lastDate: string | null; testRows: Record<string, unknown>[] }> {
  const file = path.join(refDir, 'master.parquet');
  if (!fs.existsSync(file)) return { lastDate: null, testRows: [] };
  let lastDate: string | null = null;
  let tests = 0;
  await forEachParquetBatch(file, { columns: ['date', 'split'] }, (table) => {
    const dates = table.getChild('date');
    const splits = table.getChild('split');
    for (let i = 0; i < table.numRows; i++) {
      const d = dates?.get(i) as string | null | undefined;
      if (d && (!lastDate || d > lastDate)) lastDate = d;
      if (splits?.get(i) === 'test') tests++;
    }
  });
  const rows: Record<string, unknown>[] = [];
  if (testRows > 0 && tests > 0) {
    const present = new Set(await readParquetColumnNames(file));
    const columns = [...FEATURE_NAMES, 'txn_id', 'customer_key', 'date', 'split', TARGET].filter((c) => present.has(c));
    await forEachParquetBatch(file, { columns, batchSize: 16_384 }, (table) => {
      const splits = table.getChild('split');
      const names = table.schema.fields.map((f) => f.name);
      const vectors = names.map((n) => table.getChild(n)!);
      for (let i = 0; i < table.numRows && rows.length < testRows; i++) {
        if (splits?.get(i) === 'test')
          rows.push(Object.fromEntries(names.map((n, j) => [n, normalise(vectors[j]!.get(i))])));
      }
      return rows.length < testRows;
    });
  }
  return { lastDate, testRows: rows };
}

/** Feature-store rows of the window: all of them up to `maxRows`, else a seeded uniform sample. */
export interface WindowRows {
  readonly rows: Record<string, unknown>[];
  readonly dates: string[];
  /** Rows in the window's partitions. */
  readonly total: number;
  /** Rows kept (equal to `total` unless sampled). */
  readonly sampled: number;
}

/**
 * Feature-store rows of the given partitions, with their dates. Above `maxRows` rows, a seeded
 * reservoir sample (uniform over the whole window, kept in partition order) bounds memory; the
 * caller records the sample size next to the drift it computes.
 */
export function readFeatureRows(
  featureStore: string,
  range: { from?: string; to?: string },
  maxRows = Infinity,
  seed = 17,
): WindowRows {
  const sample = new Reservoir<Record<string, unknown>>(maxRows, seed);
  const dates: string[] = [];
  for (const part of listPartitions(featureStore, range)) {
    dates.push(part.date);
    for (const file of part.files) {
      for (const row of rowsFromTable(parquetToTable(fs.readFileSync(file)))) sample.offer(row);
    }
  }
  return { rows: sample.inStreamOrder(), dates, total: sample.seen, sampled: sample.items.length };
}

/** Column arrays from row objects, for the named columns. */
export function columnsOf(
  rows: readonly Record<string, unknown>[],
  names: readonly string[],
): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const n of names) out[n] = rows.map((r) => normalise(r[n]));
  return out;
}

// Arrow hands back bigint for 64-bit integers; drift and models want plain numbers.
function normalise(v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Prediction-log entries (all days) under the log's folder (`layout.predictionLog`). */
export function readPredictionLog(logDir: string): PredictionLogEntry[] {
  return readDatedJsonl<PredictionLogEntry>(logDir);
}

/** Feedback entries (all days) under the feedback folder (`layout.feedbackLog`); the latest label per request wins. */
export function readFeedback(feedbackDir: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const entries = readDatedJsonl<FeedbackLogEntry>(feedbackDir);
  entries.sort((a, b) => (a.ts ?? '').localeCompare(b.ts ?? ''));
  for (const e of entries) if (typeof e.is_revenge_spending === 'boolean') out.set(e.request_id, e.is_revenge_spending);
  return out;
}

/** Find a metric in an evaluate `metrics.json` or a card's metrics: test split first, then holdout, then top level. */
export function findMetric(source: unknown, metric: string): number | undefined {
  const valueOf = (v: unknown): number | undefined =>
    typeof v === 'number' && Number.isFinite(v)
      ? v
      : v && typeof v === 'object' && typeof (v as { value?: unknown }).value === 'number'
        ? (v as { value: number }).value
        : undefined;
  if (!source || typeof source !== 'object') return undefined;
  const obj = source as Record<string, unknown>;
  // evaluate's metrics.json: { contenders: [{ role: 'candidate', splits: { test: { metrics: { pr_auc: { value } } } } }] }
  if (Array.isArray(obj.contenders)) {
    const candidate = (obj.contenders as { role?: string; splits?: Record<string, { metrics?: unknown }> }[]).find(
      (c) => c.role === 'candidate',
    );
    for (const split of ['test', 'holdout']) {
      const v = findMetric(candidate?.splits?.[split]?.metrics, metric);
      if (v !== undefined) return v;
    }
  }
  for (const key of [`test_${metric}`, metric, `holdout_${metric}`, `calibration_${metric}`, `cv_${metric}`]) {
    const v = valueOf(obj[key]);
    if (v !== undefined) return v;
  }
  for (const key of ['test', 'holdout', 'metrics', 'candidate', 'evaluation']) {
    const v = findMetric(obj[key], metric);
    if (v !== undefined) return v;
  }
  return undefined;
}
