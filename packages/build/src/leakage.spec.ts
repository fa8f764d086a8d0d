import { seededRandom } from '@bolsillo/core';
import { featureDeclaration, SPLITS, type Split } from '@bolsillo/schema';
import { cellsOf, columnFromCells, frameFromRows, StringColumn, type Cell, type Column, type Frame } from './frame';
import { checkLeakage, featureLeakage, leakageReport, leakageVerdict } from './leakage';
import { selectFeatures } from './selection';

const FEATURES = ['amount', 'credit_limit', 'age', 'available_ratio', 'day_of_week'];

/**
 * 30 customers, 30 daily snapshots each from 2020-01-01; the label follows the customer's balance
 * (low available ratio → positive), as a forecast of revenge spending does.
 */
function setup(): { frame: Frame; y: Int8Array; split: Split[] } {
  const rand = seededRandom(5);
  const rows: Record<string, Cell>[] = [];
  const y: number[] = [];
  for (let c = 0; c < 30; c++) {
    const level = rand() < 0.3 ? 0.1 : 0.6;
    for (let k = 0; k < 30; k++) {
      const ratio = Math.max(0, level + (rand() - 0.5) * 0.3);
      rows.push({
        txn_id: `t${c}-${k}`,
        customer_key: `cust-${c}`,
        date: `2020-01-${String(k + 1).padStart(2, '0')}`,
        amount: Math.round(rand() * 50000) / 100,
        credit_limit: 1000 + (c % 9) * 500,
        age: 20 + c,
        available_ratio: ratio,
        day_of_week: k % 7,
      });
      y.push(ratio < 0.2 && rand() < 0.9 ? 1 : 0);
    }
  }
  const frame = frameFromRows(rows, ['txn_id', 'customer_key', 'date', ...FEATURES]);
  // Customers 0-19 train, the rest test: group-pure by construction.
  const split = cellsOf(frame.columns.customer_key!).map((k) =>
    Number(String(k).slice(5)) < 20 ? 'train' : 'test',
  ) as Split[];
  return { frame, y: Int8Array.from(y), split };
}

describe('checkLeakage', () => {
  const { frame, y, split } = setup();
  const params = { max_single_feature_auc: 0.95, allow: {} };

  it('notes point-in-time features read from the target source columns instead of flagging them', () => {
    const r = checkLeakage(frame, y, split, FEATURES, ['amount', 'credit_limit', 'available_ratio'], params, 'group', {
      horizonDays: 7,
    });
    const limit = r.features.find((f) => f.feature === 'credit_limit')!;
    expect(featureDeclaration('credit_limit')!.knownBeforeTransaction).toBe(true);
    expect(limit.flags).toEqual([]);
    expect(limit.notes.join()).toMatch(/up to the snapshot day only; the target reads days d\+1..d\+7/);
    expect(r.features.find((f) => f.feature === 'amount')!.notes).toEqual([]);
    expect(r.target_window).toEqual({ from_day: 1, to_day: 7, horizon_days: 7 });
  });

  it('blocks a feature that reads after the snapshot even when the allow-list names it', () => {
    const future = (name: string) =>
      name === 'available_ratio'
        ? { ...featureDeclaration(name)!, knownBeforeTransaction: false }
        : featureDeclaration(name);
    const allow = { available_ratio: 'an excuse that must not work for future data' };
    const r = checkLeakage(
      frame,
      y,
      split,
      FEATURES,
      ['amount', 'available_ratio'],
      { max_single_feature_auc: 1, allow },
      'group',
      { declaration: future },
    );
    const ratio = r.features.find((f) => f.feature === 'available_ratio')!;
    expect(ratio.flags.map((f) => f.check).sort()).toEqual(['not_known_before', 'target_source']);
    expect(ratio.allowed_reason).toBeNull();
    expect(ratio.blocking).toBe(true);
    expect(r.passed).toBe(false);
    expect(r.failures.join()).toMatch(/available_ratio/);
    // Not in the model: reported, not blocking.
    expect(checkLeakage(frame, y, split, FEATURES, ['amount'], params, 'group', { declaration: future }).passed).toBe(
      true,
    );
  });

  it('lets the allow-list excuse single-feature power only, with its reason', () => {
    // The balance as of the snapshot (as issue 15 declares it), whatever the schema of the day says.
    const known = (name: string) => ({ ...featureDeclaration(name)!, knownBeforeTransaction: true });
    const strict = checkLeakage(
      frame,
      y,
      split,
      FEATURES,
      ['amount', 'available_ratio'],
      { max_single_feature_auc: 0.8, allow: {} },
      'group',
      { declaration: known },
    );
    const ratio = strict.features.find((f) => f.feature === 'available_ratio')!;
    expect(ratio.flags.map((f) => f.check)).toEqual(['single_feature_power']);
    expect(ratio.train_auc!).toBeGreaterThan(0.8);
    expect(strict.passed).toBe(false);
    const allow = { available_ratio: 'the balance at the snapshot is the strongest honest signal' };
    const ok = checkLeakage(
      frame,
      y,
      split,
      FEATURES,
      ['amount', 'available_ratio'],
      { max_single_feature_auc: 0.8, allow },
      'group',
      { declaration: known },
    );
    expect(ok.passed).toBe(true);
    expect(ok.features.find((f) => f.feature === 'available_ratio')!.allowed_reason).toBe(allow.available_ratio);
  });

  it("fails a split whose label windows read a later split's days of the same customers", () => {
    const date = cellsOf(frame.columns.date!) as string[];
    // Time split: train up to the 20th, test from `first`; every customer in both.
    const timed = (first: number) =>
      date.map((d) =>
        Number(d.slice(8)) <= 20 ? 'train' : Number(d.slice(8)) >= first ? 'test' : 'holdout',
      ) as Split[];
    const close = checkLeakage(frame, y, timed(25), FEATURES, ['amount'], params, 'time', { horizonDays: 7 });
    const w = close.label_windows.find((x) => x.from === 'train' && x.to === 'holdout')!;
    expect(w).toMatchObject({
      from_last: '2020-01-20',
      to_first: '2020-01-21',
      gap_days: 1,
      shared_customers: 30,
      overlaps: true,
    });
    expect(close.passed).toBe(false);
    expect(close.failures.join()).toMatch(/train labels read holdout days/);
    // Days 21-27 in no split (the gap): the first later day is 8 days after the last train day.
    const gapped = date.map((d) => (Number(d.slice(8)) <= 20 ? 'train' : 'test')) as (Split | null)[];
    const kept = gapped.flatMap((s, i) => (s === 'train' || Number(date[i]!.slice(8)) >= 28 ? [i] : []));
    const sub: Frame = {
      length: kept.length,
      columns: Object.fromEntries(Object.entries(frame.columns).map(([n, c]) => [n, c.take(kept)])),
    };
    const clear = checkLeakage(
      sub,
      Int8Array.from(kept, (i) => y[i]!),
      kept.map((i) => gapped[i]!) as Split[],
      FEATURES,
      ['amount'],
      params,
      'time',
      { horizonDays: 7 },
    );
    expect(clear.label_windows).toEqual([
      {
        from: 'train',
        to: 'test',
        from_last: '2020-01-20',
        to_first: '2020-01-28',
        gap_days: 8,
        shared_customers: 30,
        overlaps: false,
      },
    ]);
    expect(clear.passed).toBe(true);
    // Group splits share no customer: nothing to compare.
    expect(
      checkLeakage(frame, y, split, FEATURES, ['amount'], params, 'group', { horizonDays: 7 }).label_windows,
    ).toEqual([]);
  });

  it('gives the same report from the per-feature checks and the row checks run apart, dates as 16-bit codes', () => {
    const date = cellsOf(frame.columns.date!) as string[];
    const timed = date.map((d) => (Number(d.slice(8)) <= 20 ? 'train' : 'test'));
    const codes = Uint8Array.from(timed, (s) => SPLITS.indexOf(s as Split));
    const train = {
      frame,
      y,
      rows: Uint32Array.from(codes.keys()).filter((i) => codes[i] === 0),
      total: codes.filter((c) => c === 0).length,
    };
    const dates = frame.columns.date as StringColumn;
    expect(dates).toBeInstanceOf(StringColumn);
    const rows = {
      split: codes,
      groups: frame.columns.customer_key!,
      dates,
      identical: { rows: 0, examples: [] },
    };
    const options = { horizonDays: 7 };
    const whole = leakageReport({ ...rows, train, sampleSeed: null }, FEATURES, ['amount'], params, 'time', options);
    expect(whole.label_windows).toHaveLength(1);
    const apart = leakageVerdict(
      { ...rows, dates: { codes: Uint16Array.from(dates.codes), dict: dates.dict } },
      featureLeakage(train, FEATURES, ['amount'], params, options),
      { rows: train.rows.length, train_rows: train.total, seed: null },
      params,
      'time',
      options,
    );
    expect(apart).toEqual(whole);
  });

  it('detects entities in two splits and identical rows across splits', () => {
    const leaky = [...split];
    leaky[0] = leaky[0] === 'train' ? 'test' : 'train'; // one row of a customer moves
    const rows: Record<string, Column> = {
      ...frame.columns,
      amount: columnFromCells(cellsOf(frame.columns.amount!).map((v, i) => (i < 2 ? 1 : v))),
    };
    const copy: Frame = { length: frame.length, columns: rows };
    const r = checkLeakage(copy, y, leaky, FEATURES, ['amount'], params, 'group');
    expect(r.entity_overlap.groups).toBe(1);
    expect(r.passed).toBe(false);
    expect(r.identical_rows_across_splits.rows).toBeGreaterThan(0);
    expect(checkLeakage(copy, y, leaky, FEATURES, ['amount'], params, 'group_time').entity_overlap.blocking).toBe(true);
    expect(checkLeakage(copy, y, leaky, FEATURES, ['amount'], params, 'time').entity_overlap.blocking).toBe(false);
  });
});

describe('selectFeatures', () => {
  const { frame, y, split } = setup();
  const train = split.flatMap((s, i) => (s === 'train' ? [i] : []));

  it('drops constant, near-constant, duplicate and correlated features and ranks the rest by MI', () => {
    const columns: Record<string, Column> = { ...frame.columns };
    columns.day_of_month = columnFromCells(cellsOf(columns.day_of_week!)); // exact duplicate of day_of_week
    columns.merchant_abroad = columnFromCells(cellsOf(columns.day_of_week!).map((_: Cell, i: number) => i === 5)); // one true: near-constant
    columns.is_holiday = columnFromCells(cellsOf(columns.day_of_week!).map(() => false));
    columns.hist_sum_7d = columnFromCells(cellsOf(columns.amount!).map((v) => 2 * (v as number) + 1)); // r = 1 with amount
    const f: Frame = { length: frame.length, columns };
    const candidates = [
      'available_ratio',
      'day_of_week',
      'day_of_month',
      'is_holiday',
      'merchant_abroad',
      'amount',
      'hist_sum_7d',
      'credit_limit',
    ];
    const sel = selectFeatures(f, y, train, candidates, {
      near_constant_share: 0.99,
      max_abs_correlation: 0.98,
      mi_bins: 10,
    });
    const why = new Map(sel.decisions.map((d) => [d.feature, d]));
    expect(why.get('is_holiday')!.reason).toMatch(/^constant/);
    expect(why.get('merchant_abroad')!.reason).toMatch(/^near-constant/);
    expect(why.get('day_of_month')!.reason).toBe('duplicate of day_of_week (identical values on train)');
    expect(why.get('hist_sum_7d')!.action === 'drop' || why.get('amount')!.action === 'drop').toBe(true);
    expect(sel.decisions).toHaveLength(candidates.length);
    expect(sel.features[0]).toBe('available_ratio');
    expect(sel.identity).toBeNull();
    const mis = sel.features.map((name) => why.get(name)!.mutual_information);
    expect(mis).toEqual([...mis].sort((a, b) => b - a));
    expect(sel.features.map((name) => why.get(name)!.rank)).toEqual(sel.features.map((_, i) => i + 1));
  });
});
