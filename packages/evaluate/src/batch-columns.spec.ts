import { dataLayout, forEachParquetBatch, rowsFromTable } from '@bolsillo/core';
import { listVersions, loadModel } from '@bolsillo/model';
import { TARGET } from '@bolsillo/schema';
import { BatchColumns, SPLIT_CODE, splitCodes, truthyCodes } from './batch-columns';
import { makeMasterRows, registerBaselines, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';
import { descendingOrder, descendingOrderOf } from './order';

describe('typed access to a master batch', () => {
  it('gives the row objects, splits, labels and model scores that row objects give', async () => {
    const dir = tempDataDir('evaluate-batch-');
    const master = makeMasterRows(3000, 5).map((r, i) => ({
      ...r,
      // Missing values in a scored feature and in a baseline's feature.
      available_ratio: i % 7 === 0 ? null : r.available_ratio,
      amount: i % 11 === 0 ? null : r.amount,
    }));
    writeMaster(dir, master);
    await registerBaselines(dir, master);
    await registerLogistic(dir, -2, -6);
    const registry = dataLayout(dir).registry;
    const models = await Promise.all(listVersions(registry).map((c) => loadModel(registry, c.version)));
    const file = dataLayout(dir).masterTable('testhash0001');
    let batches = 0;
    await forEachParquetBatch(file, { batchSize: 1000 }, (table) => {
      batches++;
      const rows = rowsFromTable<Record<string, unknown>>(table);
      const batch = new BatchColumns(table);
      expect(rows.map((_, i) => batch.row(i))).toEqual(rows);
      const codes = { train: 1, calibration: 2, test: 3, holdout: 4 } as Record<string, number>;
      expect(Array.from(splitCodes(batch.vector('split')))).toEqual(
        rows.map((r) => codes[r.split as string] ?? SPLIT_CODE.other),
      );
      expect(Array.from(truthyCodes(batch.vector(TARGET), rows.length))).toEqual(rows.map((r) => (r[TARGET] ? 1 : 0)));
      const every = Uint32Array.from(rows.keys()).filter((i) => i % 3 !== 0);
      const picked = Array.from(every, (i) => rows[i]!);
      for (const m of models)
        expect(Array.from(m.predictColumns(batch.columnBatch(every)))).toEqual(Array.from(m.predict(picked)));
    });
    expect(batches).toBe(3);
  });
});

describe('score order', () => {
  it('is the stable comparator sort, also restricted to a subset of rows', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    for (const levels of [1, 3, 50, 1e6]) {
      const p = Float64Array.from({ length: 2000 }, () => Math.floor(rand() * levels) / levels);
      const all = Array.from({ length: p.length }, (_, i) => i);
      expect(Array.from(descendingOrder(p))).toEqual(all.sort((a, b) => p[b]! - p[a]!));
      const rows = Uint32Array.from(all.filter(() => rand() < 0.3)).sort();
      expect(Array.from(descendingOrderOf(p, rows))).toEqual(Array.from(rows).sort((a, b) => p[b]! - p[a]!));
    }
  });
});

describe('typed access to a sliced batch', () => {
  it('reads splits, labels and rows of a slice (offsets not at 0) as row objects do', async () => {
    const dir = tempDataDir('evaluate-batch-slice-');
    writeMaster(dir, makeMasterRows(500, 9));
    const file = dataLayout(dir).masterTable('testhash0001');
    await forEachParquetBatch(file, {}, (whole) => {
      const table = whole.slice(123, 400);
      const rows = rowsFromTable<Record<string, unknown>>(table);
      const batch = new BatchColumns(table);
      const codes = { train: 1, calibration: 2, test: 3, holdout: 4 } as Record<string, number>;
      expect(Array.from(splitCodes(batch.vector('split')))).toEqual(rows.map((r) => codes[r.split as string]));
      expect(Array.from(truthyCodes(batch.vector(TARGET), rows.length))).toEqual(rows.map((r) => (r[TARGET] ? 1 : 0)));
      expect(rows.map((_, i) => batch.row(i))).toEqual(rows);
    });
  });
});
