import { readJson, rocAuc, rowsFromTable, seededRandom, tableFromColumns, tableFromRows } from '@bolsillo/core';
import { arrowSchemaFor, FeatureRowSchema, MasterRowSchema, SPLITS } from '@bolsillo/schema';
import { directlyConvertible, tableFromTypedColumns } from './arrow-chunks';
import { buildMaster, sampleRows } from './build';
import type { BuildParams } from './params';
import { renderBuildReport } from './report';
import { DEFAULT_PARAMS_FILE } from './run';
import { generateFeatureRows } from './fixtures.test-util';
import crypto from 'node:crypto';
import { cellsOf, FrameBuilder, frameFromRows, frameFromTable, Utf8Column, type Cell } from './frame';
import { rocAucSorted } from './leakage';
import { runSuite, type Expectation } from './quality';
import { contentHash, MASTER_COLUMNS } from './master';
import { assignSplits, assignSplitsCoded, encodeStrings } from './splits';

// The memory-bounded paths of the build must give exactly what the plain ones give.
describe('build at scale: compact paths equal the plain ones', () => {
  it('Arrow chunks built from typed columns hold the same cells as the cell-by-cell builder, nulls included', () => {
    const schema = arrowSchemaFor(MasterRowSchema);
    const rows = generateFeatureRows({ customers: 12, perCustomer: 15, seed: 5 }).map((r, i) => ({
      ...r,
      // Some missing values in nullable columns, and a non-ASCII merchant group.
      amount: i % 7 === 0 ? null : r.amount,
      day_min_available_ratio: i % 5 === 0 ? null : r.day_min_available_ratio,
      merchant_group: i % 11 === 0 ? 'AÇÃO É ÚNICA' : r.merchant_group,
      revenge_in_horizon: i % 3 === 0,
      group: r.customer_key,
      split: SPLITS[i % 4]!,
      fold: i % 4 === 0 ? i % 5 : -1,
    }));
    const builder = new FrameBuilder({ rawStrings: ['txn_id'] });
    builder.append(tableFromRows(schema, rows));
    const frame = builder.finish();
    const cols = schema.fields.map((f) => frame.columns[f.name]!);
    expect(frame.columns.txn_id).toBeInstanceOf(Utf8Column);
    expect(schema.fields.every((f, c) => directlyConvertible(f, cols[c]!))).toBe(true);
    for (const [from, to] of [
      [0, frame.length],
      [13, 77],
      [frame.length - 9, frame.length],
    ] as const) {
      const plain: Record<string, Cell[]> = {};
      schema.fields.forEach((f, c) => (plain[f.name] = cellsOf(cols[c]!).slice(from, to)));
      const direct = tableFromTypedColumns(schema, cols, from, to);
      expect(direct.numRows).toBe(to - from);
      expect(rowsFromTable(direct)).toEqual(rowsFromTable(tableFromColumns(schema, plain)));
    }
  });

  it('the content hash is SHA-256 over JSON.stringify of every row, whatever the column representation', () => {
    const schema = arrowSchemaFor(MasterRowSchema);
    const rows = generateFeatureRows({ customers: 6, perCustomer: 10, seed: 3 }).map((r, i) => ({
      ...r,
      amount: i % 4 === 0 ? null : r.amount,
      merchant_group: i % 9 === 0 ? 'línea "quoted" \\ ü' : r.merchant_group,
      revenge_in_horizon: i % 2 === 0,
      group: r.customer_key,
      split: SPLITS[i % 4]!,
      fold: i % 4 === 0 ? i % 3 : -1,
    }));
    const frame = frameFromTable(tableFromRows(schema, rows));
    const h = crypto.createHash('sha256');
    h.update(JSON.stringify(MASTER_COLUMNS));
    for (let i = 0; i < frame.length; i++)
      h.update('\n' + JSON.stringify(MASTER_COLUMNS.map((n) => frame.columns[n]!.get(i))));
    const expected = h.digest('hex');
    expect(contentHash(frame)).toBe(expected);
    // The same cells as plain arrays (generic columns) hash the same.
    const plain = frameFromRows(
      Array.from({ length: frame.length }, (_, i) =>
        Object.fromEntries(MASTER_COLUMNS.map((n) => [n, frame.columns[n]!.get(i)])),
      ),
      MASTER_COLUMNS,
    );
    expect(contentHash(plain)).toBe(expected);
  });

  it('a frame built from several partitions with raw UTF-8 ids holds the same cells; unique(txn_id) still finds duplicates', () => {
    const schema = arrowSchemaFor(FeatureRowSchema);
    const rows = generateFeatureRows({ customers: 8, perCustomer: 12, seed: 2 }).map((r, i) => ({
      ...r,
      txn_id: i === 40 ? 'ñandú-ü' : i === 41 ? 'ñandú-ü' : r.txn_id,
      amount: i % 6 === 0 ? null : r.amount,
    }));
    const parts = [rows.slice(0, 30), rows.slice(30, 31), rows.slice(31)].map((p) => tableFromRows(schema, p));
    const plain = new FrameBuilder();
    const raw = new FrameBuilder({ rawStrings: ['txn_id'] });
    // Sized exactly, and too small (it must still take every row).
    const sized = new FrameBuilder({ capacity: rows.length });
    const small = new FrameBuilder({ capacity: 20 });
    for (const t of parts) for (const builder of [plain, raw, sized, small]) builder.append(t);
    const a = plain.finish();
    const b = raw.finish();
    for (const other of [sized.finish(), small.finish()]) {
      expect(other.length).toBe(rows.length);
      for (const name of Object.keys(a.columns))
        expect(cellsOf(other.columns[name]!)).toEqual(cellsOf(a.columns[name]!));
    }
    expect(b.columns.txn_id).toBeInstanceOf(Utf8Column);
    expect(b.length).toBe(rows.length);
    for (const name of Object.keys(a.columns)) expect(cellsOf(b.columns[name]!)).toEqual(cellsOf(a.columns[name]!));
    // Reordering and Arrow conversion of the raw column keep every value.
    const order = Array.from({ length: b.length }, (_, i) => b.length - 1 - i);
    expect(cellsOf(b.columns.txn_id!.take(order))).toEqual(order.map((i) => rows[i]!.txn_id));
    const unique: Expectation[] = [{ kind: 'unique', column: 'txn_id', severity: 'error' }];
    expect(runSuite(b, unique).results[0]!.observed).toEqual({ duplicate_values: 1 });
    expect(runSuite(a, unique).results[0]!.observed).toEqual({ duplicate_values: 1 });
  });

  it('the leakage AUC equals core rocAuc bit for bit, ties and signed zeros included', () => {
    const rand = seededRandom(4);
    for (const n of [2, 17, 500, 5000]) {
      const y = Int8Array.from({ length: n }, (_, i) => (i === 0 ? 1 : i === 1 ? 0 : rand() < 0.3 ? 1 : 0));
      const s = Float64Array.from({ length: n }, (_, i) =>
        i % 13 === 0 ? -0 : i % 11 === 0 ? 0 : Math.round(rand() * (n > 100 ? 40 : 4)) / 7,
      );
      expect(Object.is(rocAucSorted(y, s), rocAuc(y, s))).toBe(true);
    }
    expect(rocAucSorted(Int8Array.from([1, 1]), Float64Array.from([0.2, 0.3]))).toBeNaN();
  });

  it('coded split assignment equals the string one for both strategies', () => {
    const rows = generateFeatureRows({ customers: 40, perCustomer: 12, seed: 9 });
    const group = rows.map((r) => r.customer_key);
    const date = rows.map((r) => r.date);
    const y = Int8Array.from(rows, (_, i) => (i % 6 === 0 ? 1 : 0));
    for (const strategy of ['group', 'time'] as const) {
      const params = { strategy, seed: 11, sizes: { calibration: 0.1, test: 0.2, holdout: 0.15 }, folds: 3 };
      const plain = assignSplits(group, date, y, params);
      const coded = assignSplitsCoded(encodeStrings(group), encodeStrings(date), y, params);
      expect(Array.from(coded.split, (c) => SPLITS[c])).toEqual(plain.split);
      expect(Array.from(coded.fold)).toEqual(Array.from(plain.fold));
      expect(coded.summary).toEqual(plain.summary);
    }
  });

  it('selection and leakage AUCs on a larger train use a seeded sample of max_rows rows, recorded in their outputs', () => {
    const params = readJson<BuildParams>(DEFAULT_PARAMS_FILE);
    const rows = generateFeatureRows({ customers: 60, perCustomer: 45, seed: 6 });
    const asOf = rows
      .map((r) => r.date)
      .sort()
      .at(-1)!;
    const frame = () => frameFromTable(tableFromRows(arrowSchemaFor(FeatureRowSchema), rows));
    const capped = {
      ...params,
      quality: { ...params.quality, row_count: { min: 1, max: 1e9 } },
      selection: { ...params.selection, max_rows: 1000 },
    };
    const a = buildMaster(frame(), capped, { asOf });
    const b = buildMaster(frame(), capped, { asOf });
    const full = buildMaster(frame(), { ...capped, selection: { ...capped.selection, max_rows: 1_000_000 } }, { asOf });
    const train = a.splits.splits.train.rows;
    expect(train).toBeGreaterThan(1000);
    expect(a.selection).toMatchObject({ rows: 1000, train_rows: train, sample_seed: params.split.seed + 2 });
    expect(a.leakage.auc_rows).toEqual({ rows: 1000, train_rows: train, seed: params.split.seed + 2 });
    expect(b.selection).toEqual(a.selection);
    expect(full.selection).toMatchObject({ rows: train, train_rows: train, sample_seed: null });
    expect(full.leakage.auc_rows).toEqual({ rows: train, train_rows: train, seed: null });
    // Sampling touches only selection and the AUCs: the master table is the same.
    expect(a.contentHash).toBe(full.contentHash);
    expect(renderBuildReport(a, 'x')).toContain(`seeded uniform sample of ${train}`);
  });

  it('samples train rows: all of them under the cap, else exactly the cap, seeded, ascending, train only', () => {
    const split = Uint8Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const total = split.filter((s) => s === 0).length;
    const all = sampleRows(split, 0, 10_000, 1);
    expect(all).toHaveLength(total);
    expect(Array.from(all).every((i) => split[i] === 0)).toBe(true);
    const a = sampleRows(split, 0, 1000, 7);
    const b = sampleRows(split, 0, 1000, 7);
    const c = sampleRows(split, 0, 1000, 8);
    expect(a).toHaveLength(1000);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(c)).not.toEqual(Array.from(a));
    expect(new Set(a).size).toBe(1000);
    expect(Array.from(a).every((i, k) => split[i] === 0 && (k === 0 || i > a[k - 1]!))).toBe(true);
    // Uniform over train: the sample's mean index is near the middle of the table.
    const mean = a.reduce((s, i) => s + i, 0) / a.length;
    expect(Math.abs(mean - 2500)).toBeLessThan(250);
  });
});
