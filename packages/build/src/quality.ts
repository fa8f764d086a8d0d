import {
  FEATURE_DECLARATIONS,
  type Expectation,
  type ExpectationResult,
  type FeatureDeclaration,
  type QualityReport,
  type Severity,
} from '@bolsillo/schema';

export type { Expectation, ExpectationResult, QualityReport, Severity };
import { BooleanColumn, column, NumberColumn, StringColumn, type Cell, type Column, type Frame } from './frame';
import { hashRows, repeatedFingerprints } from './row-hash';
import type { BuildParams } from './params';

/** Stable, readable id of an expectation: `not_null(amount)`, `row_count_between`. */
export function expectationId(e: Expectation): string {
  if ('column' in e) return `${e.kind}(${e.column})`;
  if ('columns' in e) return `${e.kind}(${e.columns.join(',')})`;
  return e.kind;
}

function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

interface ColumnCheck {
  readonly e: Expectation;
  bad: number;
  nonNull: number;
  seen?: Set<Cell>;
  dupes?: number;
  max?: string | null;
  min?: number | null;
  maxNum?: number | null;
}

/**
 * What one part of the data (a shard's customers) tells about each expectation of a suite, before any
 * verdict: counts, minima and maxima, which add up over parts ({@link suiteReport}). Duplicates are
 * counted within a part: a transaction id, and a duplicated source row, belong to one customer.
 */
export interface SuitePartial {
  readonly rows: number;
  readonly checks: readonly {
    readonly bad: number;
    readonly nonNull: number;
    readonly dupes: number;
    readonly newest: string | null;
    readonly min: number | null;
    readonly max: number | null;
  }[];
}

/**
 * Run a suite over a columnar dataset. Expectations on the same column share one pass over it,
 * so the cost is one scan per referenced column whatever the number of expectations.
 */
export function runSuite(frame: Frame, suite: readonly Expectation[]): QualityReport {
  return suiteReport(suite, [suitePartial(frame, suite)]);
}

/** The counts of a suite over one part of the data ({@link SuitePartial}). */
export function suitePartial(frame: Frame, suite: readonly Expectation[]): SuitePartial {
  const n = frame.length;
  const byColumn = new Map<string, ColumnCheck[]>();
  const checks: ColumnCheck[] = suite.map((e) => ({ e, bad: 0, nonNull: 0 }));
  for (const c of checks) {
    if ('column' in c.e) {
      const list = byColumn.get(c.e.column) ?? [];
      list.push(c);
      byColumn.set(c.e.column, list);
    }
  }
  for (const [name, list] of byColumn) {
    const col = column(frame, name);
    const sets = list.map((c) => (c.e.kind === 'in_set' ? new Set<Cell>(c.e.values) : null));
    for (const c of list) {
      if (c.e.kind === 'unique') {
        c.seen = new Set();
        c.dupes = 0;
        if (col instanceof StringColumn) {
          // Each distinct value has one dictionary code: duplicates = non-null rows − distinct codes used.
          const used = new Uint8Array(col.dict.length);
          let nonNull = 0;
          let distinct = 0;
          for (let i = 0; i < n; i++) {
            const code = col.codes[i]!;
            if (code < 0) continue;
            nonNull++;
            if (!used[code]) {
              used[code] = 1;
              distinct++;
            }
          }
          c.dupes = nonNull - distinct;
        } else if (!(col instanceof NumberColumn) && !(col instanceof BooleanColumn)) {
          // Raw text (ids): rows sorted by a 64-bit fingerprint, equal neighbours compared exactly.
          // No set of every value (which would hold a JS string per row).
          c.dupes = duplicateValues(col, n);
        }
      }
      if (c.e.kind === 'fresh') c.max = null;
      if (c.e.kind === 'between') c.min = c.maxNum = null;
    }
    // Each value counts once per row holding it: `count` rows at a time for coded columns.
    const visit = (v: Cell, count: number) => {
      for (let k = 0; k < list.length; k++) {
        const c = list[k]!;
        const e = c.e;
        if (v === null) {
          if (e.kind === 'not_null') c.bad += count;
          continue;
        }
        c.nonNull += count;
        switch (e.kind) {
          case 'between':
            if (typeof v !== 'number' || !(v >= e.min && v <= e.max)) c.bad += count;
            if (typeof v === 'number') {
              if (c.min === null || v < c.min!) c.min = v;
              if (c.maxNum === null || v > c.maxNum!) c.maxNum = v;
            }
            break;
          case 'in_set':
            if (!sets[k]!.has(v)) c.bad += count;
            break;
          case 'unique':
            // Text columns are counted before the pass (no set of every value).
            if (!(col instanceof NumberColumn) && !(col instanceof BooleanColumn)) break;
            if (c.seen!.has(v)) c.dupes! += count;
            else {
              c.seen!.add(v);
              c.dupes! += count - 1;
            }
            break;
          case 'fresh':
            if (typeof v === 'string' && (c.max === null || v > c.max!)) c.max = v;
            break;
          default:
            break;
        }
      }
    };
    if (col instanceof StringColumn || col instanceof BooleanColumn) {
      // Rows per code, then each distinct value once with its count (codes in first-seen order).
      const codes = col instanceof StringColumn ? col.codes : col.values;
      const size = col instanceof StringColumn ? col.dict.length : 3;
      const isNull = (code: number) => (col instanceof StringColumn ? code < 0 : code === 2);
      const counts = new Float64Array(size + 1);
      const seenOrder: number[] = [];
      for (let i = 0; i < n; i++) {
        const code = codes[i]!;
        const slot = isNull(code) ? size : code;
        if (counts[slot] === 0) seenOrder.push(slot);
        counts[slot]!++;
      }
      const valueOf = (slot: number): Cell =>
        slot === size ? null : col instanceof StringColumn ? col.dict[slot]! : slot === 1;
      for (const slot of seenOrder) visit(valueOf(slot), counts[slot]!);
    } else if (col instanceof NumberColumn) {
      const { values, valid } = col;
      for (let i = 0; i < n; i++) visit(valid && valid[i] === 0 ? null : values[i]!, 1);
    } else {
      for (let i = 0; i < n; i++) visit(col.get(i), 1);
    }
  }
  return {
    rows: n,
    checks: checks.map((c) => {
      let dupes = c.dupes ?? 0;
      if (c.e.kind === 'duplicate_share_below') {
        // Rows are compared by a 64-bit hash of their cells (sorted, then adjacent runs counted):
        // 16 bytes a row instead of a set of row strings. A false match needs a 64-bit collision.
        const { hi, lo } = hashRows(
          c.e.columns.map((name) => column(frame, name)),
          n,
          false,
        );
        dupes += repeatedFingerprints(hi, lo);
      }
      return {
        bad: c.bad,
        nonNull: c.nonNull,
        dupes,
        newest: c.max ?? null,
        min: c.min ?? null,
        max: c.maxNum ?? null,
      };
    }),
  };
}

/** The suite's report from the counts of every part of the data (one part: {@link runSuite}). */
export function suiteReport(suite: readonly Expectation[], parts: readonly SuitePartial[]): QualityReport {
  const n = parts.reduce((sum, p) => sum + p.rows, 0);
  const pick = <T>(a: T | null, b: T | null, better: (x: T, y: T) => boolean) =>
    a === null ? b : b === null ? a : better(b, a) ? b : a;
  const checks = suite.map((e, k) => {
    let bad = 0;
    let nonNull = 0;
    let dupes = 0;
    let newest: string | null = null;
    let min: number | null = null;
    let max: number | null = null;
    for (const p of parts) {
      const c = p.checks[k]!;
      bad += c.bad;
      nonNull += c.nonNull;
      dupes += c.dupes;
      newest = pick(newest, c.newest, (x, y) => x > y);
      min = pick(min, c.min, (x, y) => x < y);
      max = pick(max, c.max, (x, y) => x > y);
    }
    return { e, bad, nonNull, dupes, newest, min, max };
  });
  const results: ExpectationResult[] = checks.map((c): ExpectationResult => {
    const e = c.e;
    const id = expectationId(e);
    switch (e.kind) {
      case 'not_null': {
        const share = n > 0 ? (n - c.bad) / n : 1;
        return {
          id,
          expectation: e,
          success: share >= e.mostly,
          observed: { null_count: c.bad, non_null_share: share },
        };
      }
      case 'between':
      case 'in_set': {
        const share = c.nonNull > 0 ? (c.nonNull - c.bad) / c.nonNull : 1;
        const extra: Record<string, number | null> = e.kind === 'between' ? { min: c.min, max: c.max } : {};
        return {
          id,
          expectation: e,
          success: share >= e.mostly,
          observed: { unexpected_count: c.bad, expected_share: share, ...extra },
        };
      }
      case 'unique':
        return { id, expectation: e, success: c.dupes === 0, observed: { duplicate_values: c.dupes } };
      case 'row_count_between':
        return { id, expectation: e, success: n >= e.min && n <= e.max, observed: { rows: n } };
      case 'fresh': {
        const age = c.newest ? daysBetween(c.newest, e.as_of) : null;
        // A newest date after as_of is as suspicious as a stale one: clocks or parsing went wrong.
        const ok = age !== null && age >= 0 && age <= e.max_age_days;
        return { id, expectation: e, success: ok, observed: { newest: c.newest, as_of: e.as_of, age_days: age } };
      }
      case 'duplicate_share_below': {
        const share = n > 0 ? c.dupes / n : 0;
        return {
          id,
          expectation: e,
          success: share <= e.max,
          observed: { duplicate_rows: c.dupes, duplicate_share: share },
        };
      }
    }
  });
  const failed = (s: Severity) => results.filter((r) => !r.success && r.expectation.severity === s).map((r) => r.id);
  const failedErrors = failed('error');
  return {
    rows: n,
    success: failedErrors.length === 0,
    evaluated: results.length,
    failed_errors: failedErrors,
    failed_warnings: failed('warn'),
    results,
  };
}

/** Non-null rows whose value appeared on an earlier row (what a set of seen values would count). */
function duplicateValues(col: Column, n: number): number {
  // No two fingerprints equal (the usual case for ids): no two values equal either.
  const fp = hashRows([col], n, false);
  if (repeatedFingerprints(fp.hi, fp.lo) === 0) return 0;
  const { order, hi, lo } = hashRows([col], n);
  let dupes = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const v = col.get(i);
    if (v === null) continue;
    // Walk back over the run of equal fingerprints for an exactly equal earlier value.
    for (let j = k - 1; j >= 0 && hi[order[j]!] === hi[i] && lo[order[j]!] === lo[i]; j--) {
      if (col.get(order[j]!) === v) {
        dupes++;
        break;
      }
    }
  }
  return dupes;
}

/** The message that stops the build: every failed `error` expectation with what was observed. */
export function qualityFailureMessage(report: QualityReport): string {
  const lines = failedResults(report, 'error').map(describeResult);
  return `data quality failed: ${lines.length} error expectation(s): ${lines.join('; ')}`;
}

/**
 * The warnings of a suite for the stage's summary line, each with what was observed:
 * `quality warnings 1: fresh(date) (newest 2020-05-07, as_of 2026-12-02, age_days 2400)`.
 */
export function qualityWarningsMessage(report: QualityReport): string {
  const lines = failedResults(report, 'warn').map(describeResult);
  return `quality warnings ${lines.length}${lines.length > 0 ? `: ${lines.join('; ')}` : ''}`;
}

function failedResults(report: QualityReport, severity: Severity): ExpectationResult[] {
  return report.results.filter((r) => !r.success && r.expectation.severity === severity);
}

/** `fresh(date) (newest 2020-05-07, as_of 2026-12-02, age_days 2400)`. */
function describeResult(r: ExpectationResult): string {
  const observed = Object.entries(r.observed).map(
    ([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(4)) : String(v)}`,
  );
  return `${r.id} (${observed.join(', ')})`;
}

/**
 * The shipped suite, derived from the feature declarations and the params: every non-nullable
 * column is never null, nullable ones are mostly present, known ranges and sets hold, keys are
 * unique, the dataset size is plausible, the newest partition is fresh and exact duplicates are rare.
 */
export function defaultSuite(params: BuildParams['quality'], asOf: string): Expectation[] {
  const q = params;
  const decls = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];
  const suite: Expectation[] = [
    { kind: 'row_count_between', min: q.row_count.min, max: q.row_count.max, severity: 'error' },
    { kind: 'unique', column: 'txn_id', severity: 'error' },
    ...(['txn_id', 'customer_key', 'date'] as const).map((c): Expectation => ({
      kind: 'not_null',
      column: c,
      mostly: 1,
      severity: 'error',
    })),
  ];
  for (const d of decls) {
    if (!d.nullable) suite.push({ kind: 'not_null', column: d.name, mostly: 1, severity: 'error' });
    // The target needs the current ratio and amounts are the core signal: hold them to the strict bar;
    // history features are null by construction for first transactions, so only warn on them.
    else if (d.name === 'available_ratio' || d.name === 'amount')
      suite.push({ kind: 'not_null', column: d.name, mostly: q.not_null_mostly, severity: 'error' });
    else if (d.usuallyNull !== true) suite.push({ kind: 'not_null', column: d.name, mostly: 0.5, severity: 'warn' });
  }
  suite.push(
    {
      kind: 'between',
      column: 'credit_limit',
      min: q.credit_limit_range.min,
      max: q.credit_limit_range.max,
      mostly: 1,
      severity: 'error',
    },
    {
      kind: 'between',
      column: 'amount',
      min: q.amount_range.min,
      max: q.amount_range.max,
      mostly: 0.999,
      severity: 'warn',
    },
    { kind: 'between', column: 'age', min: q.age_range.min, max: q.age_range.max, mostly: 1, severity: 'error' },
    { kind: 'between', column: 'day_of_week', min: 0, max: 6, mostly: 1, severity: 'error' },
    { kind: 'between', column: 'day_of_month', min: 1, max: 31, mostly: 1, severity: 'error' },
    { kind: 'between', column: 'month', min: 1, max: 12, mostly: 1, severity: 'error' },
    // Snapshots above the total limit exist in the source (refunds, raised limits); only absurd values are errors.
    { kind: 'between', column: 'available_ratio', min: 0, max: 10, mostly: 1, severity: 'error' },
    { kind: 'between', column: 'hist_nonessential_share_30d', min: 0, max: 1, mostly: 1, severity: 'error' },
    { kind: 'between', column: 'days_since_prev', min: 0, max: 3660, mostly: 1, severity: 'error' },
    { kind: 'in_set', column: 'sex', values: q.allowed_sex, mostly: 1, severity: 'error' },
    {
      kind: 'fresh',
      column: 'date',
      as_of: asOf,
      max_age_days: q.freshness.max_age_days,
      severity: q.freshness.severity,
    },
    {
      kind: 'duplicate_share_below',
      // Exact duplicates of the source row: everything known about the transaction except its id.
      columns: ['customer_key', 'date', ...decls.filter((d) => d.group === 'transaction').map((d) => d.name)],
      max: q.max_duplicate_share,
      severity: 'warn',
    },
  );
  return suite;
}
