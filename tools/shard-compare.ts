/**
 * Compares what two data folders hold after the same stages ran in each, e.g. one process against
 * 4 shards + merge (issue 20's must-show; bench/shards-equal.ts, tools/shards-equal.spec.ts): the lake,
 * feature store and master table as multisets of rows (order and part files may differ), and the
 * reports that drive the model (splits, selection, leakage, quality, profile, evaluation metrics) as
 * JSON with the run's timestamps left out.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, forEachParquetBatch, listPartitions, readJson, rowsFromTable } from '@bolsillo/core';

/** Rows of a dataset as a multiset: each row's hash with its count, and the column names. */
export interface RowMultiset {
  readonly rows: number;
  readonly columns: readonly string[];
  readonly counts: Map<string, number>;
}

/** A row's identity: its values in column-name order, hashed (JSON, so 0.1 and 0.1000001 differ). */
function rowHash(row: Readonly<Record<string, unknown>>, columns: readonly string[]): string {
  const values = columns.map((c) => {
    const v = row[c];
    return v instanceof Date ? v.toISOString() : v === undefined ? null : v;
  });
  return createHash('sha1').update(JSON.stringify(values)).digest('base64');
}

/** The rows of Parquet files as a multiset, read in batches (bounded memory per file). */
export async function parquetRows(files: readonly string[]): Promise<RowMultiset> {
  const counts = new Map<string, number>();
  let columns: string[] | null = null;
  let rows = 0;
  for (const file of files)
    await forEachParquetBatch(file, {}, (table) => {
      const names = table.schema.fields.map((f) => f.name).sort();
      if (columns === null) columns = names;
      else if (names.join() !== columns.join())
        throw new Error(`${file}: columns ${names.join()} differ from ${columns.join()}`);
      for (const row of rowsFromTable(table)) {
        const h = rowHash(row, names);
        counts.set(h, (counts.get(h) ?? 0) + 1);
        rows += 1;
      }
    });
  return { rows, columns: columns ?? [], counts };
}

/** How two multisets differ: rows only in a, only in b (counted with multiplicity). */
export interface MultisetDiff {
  readonly equal: boolean;
  readonly rowsA: number;
  readonly rowsB: number;
  readonly distinct: number;
  readonly onlyA: number;
  readonly onlyB: number;
  readonly columnsEqual: boolean;
}

export function compareMultisets(a: RowMultiset, b: RowMultiset): MultisetDiff {
  let onlyA = 0;
  let onlyB = 0;
  for (const [h, n] of a.counts) {
    const m = b.counts.get(h) ?? 0;
    if (n > m) onlyA += n - m;
  }
  for (const [h, n] of b.counts) {
    const m = a.counts.get(h) ?? 0;
    if (n > m) onlyB += n - m;
  }
  const columnsEqual = a.columns.join() === b.columns.join();
  return {
    equal: onlyA === 0 && onlyB === 0 && columnsEqual && a.rows === b.rows,
    rowsA: a.rows,
    rowsB: b.rows,
    distinct: a.counts.size,
    onlyA,
    onlyB,
    columnsEqual,
  };
}

/** Keys that say when or how a run happened, not what it computed. */
const RUN_KEYS = new Set([
  'generated_at',
  'updated_at',
  'decided_at',
  'created_at',
  'evaluated_at',
  'built_at',
  'started_at',
  'finished_at',
  'seconds',
  'elapsed_seconds',
  'duration_seconds',
  'shards',
  'inputs',
]);

/**
 * A JSON value with the run's timestamps, durations and shard layout removed (and the `also` keys),
 * keys sorted.
 */
export function comparableJson(value: unknown, also: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.map((v) => comparableJson(v, also));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.keys(value)
        .filter((k) => !RUN_KEYS.has(k) && !also.has(k))
        .sort()
        .map((k) => [k, comparableJson((value as Record<string, unknown>)[k], also)]),
    );
  return value;
}

/** The first path at which two JSON values differ, or null when equal. */
export function firstDifference(a: unknown, b: unknown, at = '$'): string | null {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${at}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : `${at}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
}

/** One line of a comparison: what was compared, whether it is equal, and the detail. */
export interface Check {
  readonly what: string;
  readonly equal: boolean;
  readonly detail: string;
}

const dataFiles = (root: string) => listPartitions(root).flatMap((p) => p.files);

async function rowsCheck(what: string, a: readonly string[], b: readonly string[]): Promise<Check> {
  const d = compareMultisets(await parquetRows(a), await parquetRows(b));
  return {
    what,
    equal: d.equal,
    detail: d.equal
      ? `${d.rowsA} rows (${d.distinct} distinct), same multiset`
      : `${d.rowsA} vs ${d.rowsB} rows; ${d.onlyA} only in the first, ${d.onlyB} only in the second` +
        (d.columnsEqual ? '' : '; columns differ'),
  };
}

function jsonCheck(what: string, a: string, b: string, also: readonly string[] = []): Check {
  if (!fs.existsSync(a) || !fs.existsSync(b))
    return { what, equal: false, detail: `missing: ${[a, b].filter((f) => !fs.existsSync(f)).join(', ')}` };
  const ignored = new Set(also);
  const d = firstDifference(comparableJson(readJson(a), ignored), comparableJson(readJson(b), ignored));
  const left = also.length > 0 ? `timestamps, ${also.join(', ')} left out` : 'timestamps left out';
  return { what, equal: d === null, detail: d ?? `equal (${left})` };
}

/** The master folder `master/latest.json` points at. */
function latestMaster(dataDir: string): { hash: string; dir: string } {
  const layout = dataLayout(dataDir);
  const { hash } = readJson<{ hash: string }>(layout.masterLatest);
  return { hash, dir: layout.masterDir(hash) };
}

/** Which stages' outputs to compare. */
export type Through = 'ingest' | 'features' | 'build' | 'evaluate';

/**
 * Every comparison of two data folders up to `through`: lake, feature store (and online store bytes),
 * master table rows and hash, the build reports, and the evaluation metrics of the champion candidate.
 */
export async function compareDataDirs(a: string, b: string, through: Through): Promise<Check[]> {
  const order: Through[] = ['ingest', 'features', 'build', 'evaluate'];
  const upTo = (s: Through) => order.indexOf(s) <= order.indexOf(through);
  const la = dataLayout(a);
  const lb = dataLayout(b);
  const checks: Check[] = [];
  if (upTo('ingest')) {
    checks.push(await rowsCheck('lake rows', dataFiles(la.lake), dataFiles(lb.lake)));
    // Its per-partition sha256 and content_hash are of the Parquet bytes, so they depend on how the
    // rows are split into part files; the rows themselves are compared above.
    checks.push(
      jsonCheck('lake manifest (files, rows per date, k-anonymity)', la.ingestManifest, lb.ingestManifest, [
        'sha256',
        'parts',
        'content_hash',
      ]),
    );
  }
  if (upTo('features')) {
    checks.push(await rowsCheck('feature store rows', dataFiles(la.featureStore), dataFiles(lb.featureStore)));
    checks.push(jsonCheck('feature store manifest', la.featureManifest, lb.featureManifest));
    const online = (l: typeof la) =>
      fs
        .readdirSync(l.onlineStore)
        .filter((f) => !f.startsWith('.'))
        .sort()
        .map((f) => {
          const p = path.join(l.onlineStore, f);
          return fs.statSync(p).isFile() ? `${f}:${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}` : f;
        })
        .join('\n');
    const same = online(la) === online(lb);
    checks.push({
      what: 'online store files',
      equal: same,
      detail: same ? 'byte for byte' : 'the files or their bytes differ',
    });
  }
  if (upTo('build')) {
    const ma = latestMaster(a);
    const mb = latestMaster(b);
    checks.push({
      what: 'master table content hash',
      equal: ma.hash === mb.hash,
      detail: ma.hash === mb.hash ? ma.hash.slice(0, 16) : `${ma.hash.slice(0, 16)} vs ${mb.hash.slice(0, 16)}`,
    });
    checks.push(
      await rowsCheck(
        'master table rows',
        [path.join(ma.dir, 'master.parquet')],
        [path.join(mb.dir, 'master.parquet')],
      ),
    );
    for (const f of fs
      .readdirSync(ma.dir)
      .filter((n) => n.endsWith('.json') || n.endsWith('.md'))
      .sort())
      if (f.endsWith('.md')) {
        const same = fs.readFileSync(path.join(ma.dir, f), 'utf8') === fs.readFileSync(path.join(mb.dir, f), 'utf8');
        checks.push({ what: `master ${f}`, equal: same, detail: same ? 'byte for byte' : 'differs' });
      } else checks.push(jsonCheck(`master ${f}`, path.join(ma.dir, f), path.join(mb.dir, f)));
  }
  if (upTo('evaluate')) {
    const version = (dir: string) =>
      fs
        .readdirSync(dataLayout(dir).reports, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    const va = version(a);
    const vb = version(b);
    checks.push({
      what: 'evaluated versions',
      equal: va.join() === vb.join(),
      detail: va.join(', ') || 'none',
    });
    for (const v of va.filter((x) => vb.includes(x))) {
      checks.push(jsonCheck(`reports/${v}/metrics.json`, la.reportMetrics(v), lb.reportMetrics(v)));
      checks.push(
        jsonCheck(
          `reports/${v}/verdict.json`,
          path.join(la.reportDir(v), 'verdict.json'),
          path.join(lb.reportDir(v), 'verdict.json'),
        ),
      );
      checks.push(jsonCheck(`${v} promotion decision`, la.modelDecision(v), lb.modelDecision(v)));
    }
  }
  return checks;
}
