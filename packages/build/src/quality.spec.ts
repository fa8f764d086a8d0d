import { FEATURE_NAMES, FEATURE_KEY_COLUMNS } from '@bolsillo/schema';
import { generateFeatureRows } from './fixtures.test-util';
import { frameFromRows, type Cell } from './frame';
import { defaultSuite, qualityFailureMessage, qualityWarningsMessage, runSuite, type Expectation } from './quality';
import params from '../params.json';
import type { BuildParams } from './params';

const names = [...FEATURE_KEY_COLUMNS, ...FEATURE_NAMES];
const quality = (params as unknown as BuildParams).quality;

describe('quality suite', () => {
  it('passes on generated data', () => {
    const frame = frameFromRows(generateFeatureRows() as unknown as Record<string, Cell>[], names);
    const report = runSuite(frame, defaultSuite(quality, '2020-02-20'));
    expect(report.failed_errors).toEqual([]);
    expect(report.failed_warnings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('fails exactly the expectations a corrupted dataset breaks, with observed values', () => {
    const rows = generateFeatureRows() as unknown as Record<string, Cell>[];
    rows[3]!.txn_id = rows[2]!.txn_id!; // duplicate key
    rows[10]!.age = 7; // out of range
    rows[11]!.sex = 'X'; // not in the allowed set
    rows[12]!.customer_key = null; // null key
    for (let i = 0; i < 40; i++) rows[100 + i]!.amount = null; // 4% missing > 1% allowed
    rows[200]!.month = 13;
    const report = runSuite(frameFromRows(rows, names), defaultSuite(quality, '2020-02-20'));
    expect([...report.failed_errors].sort()).toEqual(
      [
        'between(age)',
        'between(month)',
        'in_set(sex)',
        'not_null(amount)',
        'not_null(customer_key)',
        'unique(txn_id)',
      ].sort(),
    );
    const byId = new Map(report.results.map((r) => [r.id, r]));
    expect(byId.get('between(age)')!.observed.unexpected_count).toBe(1);
    expect(byId.get('between(age)')!.observed.min).toBe(7);
    expect(byId.get('not_null(amount)')!.observed.null_count).toBe(40);
    expect(byId.get('unique(txn_id)')!.observed.duplicate_values).toBe(1);
    expect(report.success).toBe(false);
    const message = qualityFailureMessage(report);
    for (const id of report.failed_errors) expect(message).toContain(id);
  });

  it('warns (without failing) on stale data and duplicate rows', () => {
    const rows = generateFeatureRows() as unknown as Record<string, Cell>[];
    for (let i = 0; i < 30; i++) rows.push({ ...rows[i]!, txn_id: `dup:${i}` });
    const report = runSuite(frameFromRows(rows, names), defaultSuite(quality, '2021-01-01'));
    expect(report.success).toBe(true);
    expect(report.failed_warnings.sort()).toEqual(
      [expect.stringMatching(/^duplicate_share_below/), 'fresh(date)'].sort(),
    );
    const fresh = report.results.find((r) => r.id === 'fresh(date)')!;
    expect(fresh.observed.newest).toBe(
      rows
        .map((r) => String(r.date))
        .sort()
        .at(-1),
    );
    // The summary line says which expectations warned and what was observed.
    const message = qualityWarningsMessage(report);
    expect(message).toMatch(/^quality warnings 2: /);
    expect(message).toContain(
      `fresh(date) (newest ${String(fresh.observed.newest)}, as_of 2021-01-01, age_days ${String(fresh.observed.age_days)})`,
    );
    expect(message).toContain('duplicate_share_below');
  });

  it('checks row counts and mostly thresholds', () => {
    const frame = frameFromRows([{ x: 1 }, { x: null }, { x: 3 }, { x: 4 }], ['x']);
    const suite: Expectation[] = [
      { kind: 'row_count_between', min: 5, max: 10, severity: 'error' },
      { kind: 'not_null', column: 'x', mostly: 0.75, severity: 'error' },
      { kind: 'not_null', column: 'x', mostly: 0.8, severity: 'warn' },
      { kind: 'between', column: 'x', min: 0, max: 3, mostly: 0.6, severity: 'error' },
    ];
    const r = runSuite(frame, suite);
    expect(r.results.map((x) => x.success)).toEqual([false, true, false, true]);
    expect(r.failed_errors).toEqual(['row_count_between']);
    expect(r.failed_warnings).toEqual(['not_null(x)']);
  });
});
