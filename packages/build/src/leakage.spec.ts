import { FEATURE_NAMES, FEATURE_KEY_COLUMNS, type Split } from '@bolsillo/schema';
import { generateFeatureRows } from './fixtures.test-util';
import { cellsOf, columnFromCells, frameFromRows, type Cell, type Column, type Frame } from './frame';
import { checkLeakage } from './leakage';
import { selectFeatures } from './selection';
import { computeTarget } from './target';

const names = [...FEATURE_KEY_COLUMNS, ...FEATURE_NAMES];
const target = { threshold: 0.2, essential_groups: ['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS'] };

function setup(): { frame: Frame; y: Int8Array; split: Split[] } {
  const frame = frameFromRows(generateFeatureRows({ customers: 30, perCustomer: 30 }) as unknown as Record<string, Cell>[], names);
  const y = computeTarget(frame, target).values;
  // Customers 0-19 train, the rest test: group-pure by construction.
  const split = cellsOf(frame.columns.customer_key!).map((k) => (Number(String(k).slice(5)) < 20 ? 'train' : 'test')) as Split[];
  return { frame, y, split };
}

describe('checkLeakage', () => {
  const { frame, y, split } = setup();
  const allow = { prev_available_ratio: 'point-in-time: as of the previous transaction', merchant_group: 'known at authorisation time', credit_limit: 'customer attribute known beforehand' };

  it('flags the current-row ratio on every applicable check and fails when it is a model feature', () => {
    const report = checkLeakage(frame, y, split, FEATURE_NAMES, ['amount', 'available_ratio'], { max_single_feature_auc: 0.9, allow }, 'group');
    const ratio = report.features.find((f) => f.feature === 'available_ratio')!;
    expect(ratio.flags.map((f) => f.check).sort()).toEqual(['not_known_before', 'single_feature_power', 'target_source']);
    expect(ratio.blocking).toBe(true);
    expect(report.passed).toBe(false);
    expect(report.failures.join()).toMatch(/available_ratio/);
  });

  it('passes a point-in-time feature set when flagged features are allowed with a reason, and blocks them otherwise', () => {
    const model = ['amount', 'prev_available_ratio', 'merchant_group', 'credit_limit'];
    const ok = checkLeakage(frame, y, split, FEATURE_NAMES, model, { max_single_feature_auc: 0.95, allow }, 'group');
    expect(ok.passed).toBe(true);
    expect(ok.flagged).toEqual(expect.arrayContaining(['available_ratio', 'prev_available_ratio', 'merchant_group']));
    expect(ok.features.find((f) => f.feature === 'prev_available_ratio')!.allowed_reason).toMatch(/point-in-time/);
    const strict = checkLeakage(frame, y, split, FEATURE_NAMES, model, { max_single_feature_auc: 0.95, allow: {} }, 'group');
    expect(strict.failures.map((f) => f.split(':')[0]).sort()).toEqual(['credit_limit', 'merchant_group', 'prev_available_ratio']);
  });

  it('detects entities in two splits and identical rows across splits', () => {
    const leaky = [...split];
    leaky[0] = leaky[0] === 'train' ? 'test' : 'train'; // one row of a customer moves
    const rows: Record<string, Column> = { ...frame.columns, amount: columnFromCells(cellsOf(frame.columns.amount!).map((v, i) => (i < 2 ? 1 : v))) };
    const copy: Frame = { length: frame.length, columns: rows };
    const r = checkLeakage(copy, y, leaky, FEATURE_NAMES, ['amount'], { max_single_feature_auc: 0.95, allow }, 'group');
    expect(r.entity_overlap.groups).toBe(1);
    expect(r.passed).toBe(false);
    expect(r.identical_rows_across_splits.rows).toBeGreaterThan(0);
    const timed = checkLeakage(copy, y, leaky, FEATURE_NAMES, ['amount'], { max_single_feature_auc: 0.95, allow }, 'time');
    expect(timed.entity_overlap.blocking).toBe(false);
  });
});

describe('selectFeatures', () => {
  const { frame, y, split } = setup();
  const train = split.flatMap((s, i) => (s === 'train' ? [i] : []));

  it('drops constant, near-constant, duplicate and correlated features and ranks the rest by MI', () => {
    const columns: Record<string, Column> = { ...frame.columns };
    columns.day_of_month = columnFromCells(cellsOf(columns.day_of_week!)); // exact duplicate of day_of_week
    columns.merchant_abroad = columnFromCells(cellsOf(columns.merchant_abroad!).map((_: Cell, i: number) => i === 5)); // one true: near-constant
    const f: Frame = { length: frame.length, columns };
    const candidates = ['prev_available_ratio', 'day_of_week', 'day_of_month', 'is_holiday', 'merchant_abroad', 'hist_count_7d', 'hist_sum_7d', 'amount'];
    const sel = selectFeatures(f, y, train, candidates, { near_constant_share: 0.99, max_abs_correlation: 0.98, mi_bins: 10 });
    const why = new Map(sel.decisions.map((d) => [d.feature, d]));
    expect(why.get('is_holiday')!.reason).toMatch(/^constant/);
    expect(why.get('merchant_abroad')!.reason).toMatch(/^near-constant/);
    expect(why.get('day_of_month')!.reason).toBe('duplicate of day_of_week (identical values on train)');
    expect(why.get('hist_sum_7d')!.action === 'drop' || why.get('hist_count_7d')!.action === 'drop').toBe(true);
    expect(sel.decisions).toHaveLength(candidates.length);
    expect(sel.features[0]).toBe('prev_available_ratio');
    const mis = sel.features.map((name) => why.get(name)!.mutual_information);
    expect(mis).toEqual([...mis].sort((a, b) => b - a));
    expect(sel.features.map((name) => why.get(name)!.rank)).toEqual(sel.features.map((_, i) => i + 1));
  });
});
