import {
  assignSplits,
  assignSplitsByGroup,
  assignSplitsCoded,
  dropUnassigned,
  encodeStrings,
  keepAssignedInPlace,
  rowFolds,
  UNASSIGNED,
} from './splits';
import type { BuildParams } from './params';

/** Day `k` (0-based) after 2020-01-01 as YYYY-MM-DD. */
const dayAfter = (k: number) => new Date(Date.UTC(2020, 0, 1 + k)).toISOString().slice(0, 10);
const dayNumber = (d: string) => Math.round(Date.parse(`${d}T00:00:00Z`) / 86_400_000);

/** Customers with one snapshot a day over `days` days, each customer starting on its own day. */
function daily(customers: number, days: number) {
  const group: string[] = [];
  const date: string[] = [];
  const y: number[] = [];
  for (let c = 0; c < customers; c++) {
    for (let k = c % 10; k < days; k++) {
      group.push(`c${c}`);
      date.push(dayAfter(k));
      y.push((c + k) % 9 === 0 ? 1 : 0);
    }
  }
  return { group, date, y: Int8Array.from(y) };
}

function dataset(customers: number, perCustomer: number) {
  const group: string[] = [];
  const date: string[] = [];
  const y: number[] = [];
  for (let c = 0; c < customers; c++) {
    for (let k = 0; k < perCustomer + (c % 5) * 3; k++) {
      group.push(`c${c}`);
      date.push(`2020-01-${String(1 + (k % 28)).padStart(2, '0')}`);
      y.push(c % 4 === 0 && k % 2 === 0 ? 1 : 0);
    }
  }
  return { group, date, y: Int8Array.from(y) };
}

const params: BuildParams['split'] = {
  strategy: 'group',
  seed: 3,
  sizes: { calibration: 0.1, test: 0.2, holdout: 0.15 },
  folds: 4,
};

describe('assignSplits', () => {
  const { group, date, y } = dataset(60, 20);

  it('keeps every customer in one split and one fold, with sizes near the request', () => {
    const { split, fold, summary } = assignSplits(group, date, y, params);
    const where = new Map<string, string>();
    group.forEach((g, i) => {
      const tag = `${split[i]}/${fold[i]}`;
      expect(where.get(g) ?? tag).toBe(tag);
      where.set(g, tag);
      expect(fold[i]! >= 0).toBe(split[i] === 'train');
    });
    for (const s of ['train', 'calibration', 'test', 'holdout'] as const) {
      expect(Math.abs(summary.splits[s].share - summary.requested[s])).toBeLessThan(0.05);
      expect(summary.splits[s].positives).toBeGreaterThan(0);
    }
    expect(summary.folds.every((f) => f.rows > 0 && f.positives > 0)).toBe(true);
    const overall = y.reduce((a, b) => a + b, 0) / y.length;
    for (const s of Object.values(summary.splits)) expect(Math.abs(s.prevalence - overall)).toBeLessThan(0.06);
  });

  it('is reproducible for a seed and changes with the seed', () => {
    const a = assignSplits(group, date, y, params);
    const b = assignSplits(group, date, y, params);
    const c = assignSplits(group, date, y, { ...params, seed: 4 });
    expect(b.split).toEqual(a.split);
    expect(Array.from(b.fold)).toEqual(Array.from(a.fold));
    expect(c.split).not.toEqual(a.split);
  });

  it('time strategy trains on earlier dates and tests on later ones, never splitting a day', () => {
    const { split, fold, summary } = assignSplits(group, date, y, { ...params, strategy: 'time' });
    const s = summary.splits;
    expect(s.train.date_max! < s.calibration.date_min!).toBe(true);
    expect(s.calibration.date_max! < s.test.date_min!).toBe(true);
    expect(s.test.date_max! < s.holdout.date_min!).toBe(true);
    // Folds stay group-aware inside train.
    const foldOf = new Map<string, number>();
    group.forEach((g, i) => {
      if (split[i] !== 'train') return;
      expect(foldOf.get(g) ?? fold[i]).toBe(fold[i]);
      foldOf.set(g, fold[i]!);
    });
  });

  it('time strategy leaves a gap of the horizon after each period, so no label window reads a later split', () => {
    const d = daily(40, 200);
    const { split, summary } = assignSplits(d.group, d.date, d.y, { ...params, strategy: 'time' }, 7);
    const s = summary.splits;
    const order = (['train', 'calibration', 'test', 'holdout'] as const).map((k) => s[k]);
    for (let k = 1; k < order.length; k++)
      expect(dayNumber(order[k]!.date_min!) - dayNumber(order[k - 1]!.date_max!)).toBe(8);
    // The gap days are in no split, counted; the rest approach the requested shares.
    const none = split.filter((x) => x === null).length;
    expect(none).toBeGreaterThan(0);
    expect(summary.unassigned).toMatchObject({ rows: none, share: none / split.length });
    expect(summary.gap_days).toBe(7);
    for (const k of ['train', 'calibration', 'test', 'holdout'] as const)
      expect(Math.abs(s[k].share - summary.requested[k])).toBeLessThan(0.03);
    // Without a gap every row has a split.
    expect(assignSplits(d.group, d.date, d.y, { ...params, strategy: 'time' }).summary.unassigned.rows).toBe(0);
  });

  it('group_time tests on unseen customers at later dates, after the gap', () => {
    const d = daily(80, 200);
    const { split, fold, summary } = assignSplits(d.group, d.date, d.y, { ...params, strategy: 'group_time' }, 7);
    const where = new Map<string, string>();
    let trainLast = '';
    let laterFirst = '9999';
    d.group.forEach((g, i) => {
      const sp = split[i];
      if (sp === null || sp === undefined) return;
      expect(where.get(g) ?? sp).toBe(sp); // one split per customer
      where.set(g, sp);
      if (sp === 'train') trainLast = d.date[i]! > trainLast ? d.date[i]! : trainLast;
      else laterFirst = d.date[i]! < laterFirst ? d.date[i]! : laterFirst;
      expect(fold[i]! >= 0).toBe(sp === 'train');
    });
    expect(dayNumber(laterFirst) - dayNumber(trainLast)).toBe(8);
    for (const k of ['train', 'calibration', 'test', 'holdout'] as const)
      expect(summary.splits[k].rows).toBeGreaterThan(0);
    // Train customers' later rows and the others' earlier rows are in no split: about half the data.
    expect(summary.unassigned.share).toBeGreaterThan(0.4);
    expect(summary.unassigned.share).toBeLessThan(0.6);
  });

  it('dropUnassigned keeps exactly the rows with a split, in order', () => {
    const d = daily(30, 120);
    const assigned = assignSplitsCoded(
      encodeStrings(d.group),
      encodeStrings(d.date),
      d.y,
      { ...params, strategy: 'time' },
      7,
    );
    const rows = Array.from(d.y.keys());
    const out = dropUnassigned(rows, d.y, assigned, (r, keep) => Array.from(keep, (i) => r[i]!));
    const expected = rows.filter((i) => assigned.split[i] !== UNASSIGNED);
    expect(out.frame).toEqual(expected);
    expect(Array.from(out.split)).toEqual(expected.map((i) => assigned.split[i]));
    expect(Array.from(out.fold)).toEqual(expected.map((i) => assigned.fold[i]));
    expect(Array.from(out.y)).toEqual(expected.map((i) => d.y[i]));
    // Nothing to drop: the inputs come back as they are.
    const group = assignSplitsCoded(encodeStrings(d.group), encodeStrings(d.date), d.y, params);
    expect(dropUnassigned(rows, d.y, group, () => []).frame).toBe(rows);
  });

  it('folds per customer give every row the fold assignSplitsCoded gives it, dates in 16 bits too', () => {
    const d = daily(30, 120);
    for (const strategy of ['group', 'time', 'group_time'] as const) {
      const p = { ...params, strategy };
      const group = encodeStrings(d.group);
      const date = encodeStrings(d.date);
      const rows = assignSplitsCoded(group, date, d.y, p, 7);
      const byGroup = assignSplitsByGroup(group, { ...date, codes: Uint16Array.from(date.codes) }, d.y, p, 7);
      expect(byGroup.split).toEqual(rows.split);
      expect(byGroup.summary).toEqual(rows.summary);
      expect(rowFolds(byGroup.split, group.codes, byGroup.groupFold, new Int8Array(d.y.length))).toEqual(
        Int8Array.from(rows.fold),
      );
    }
  });

  it('keepAssignedInPlace keeps the rows dropUnassigned keeps, in the arrays it is given', () => {
    const d = daily(30, 120);
    const group = encodeStrings(d.group);
    const assigned = assignSplitsCoded(group, encodeStrings(d.date), d.y, { ...params, strategy: 'group_time' }, 7);
    expect(assigned.summary.unassigned.rows).toBeGreaterThan(0);
    const dropped = dropUnassigned(group.codes, d.y, assigned, (codes, keep) =>
      Int32Array.from(keep, (i) => codes[i]!),
    );
    const codes = group.codes.slice();
    const y = d.y.slice();
    const [keptCodes, keptY] = keepAssignedInPlace(assigned.split, [codes, y]);
    expect(keptCodes).toEqual(dropped.frame);
    expect(keptY).toEqual(dropped.y);
    expect(keptCodes!.buffer).toBe(codes.buffer); // compacted where it was: no copy
    // Nothing to drop: the arrays come back whole.
    const all = assignSplitsCoded(group, encodeStrings(d.date), d.y, params);
    expect(keepAssignedInPlace(all.split, [y])[0]).toBe(y);
  });

  it('rejects sizes that leave nothing to train on', () => {
    expect(() =>
      assignSplits(group, date, y, { ...params, sizes: { calibration: 0.5, test: 0.3, holdout: 0.2 } }),
    ).toThrow(/no train share/);
  });
});
