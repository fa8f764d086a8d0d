import { dataLayout } from '@bolsillo/core';
import { readFeatureRows } from './io';
import { generatedFeatureRows, removeTempDataDirs, tempDataDir, writeFeatureStore } from './scenario.test-util';

describe('bounded window reading', () => {
  afterAll(removeTempDataDirs);

  it('reads every row under the cap, and a seeded uniform sample in partition order above it', () => {
    const dir = tempDataDir('window');
    const rows = generatedFeatureRows({ rows: 1200, seed: 5, start: '2019-10-01', end: '2019-12-31' });
    writeFeatureStore(dir, rows);
    const store = dataLayout(dir).featureStore;
    const all = readFeatureRows(store, {});
    expect(all.total).toBe(rows.length);
    expect(all.sampled).toBe(rows.length);
    expect(all.rows).toHaveLength(rows.length);

    const a = readFeatureRows(store, {}, 300, 1);
    expect(a.total).toBe(rows.length);
    expect(a.sampled).toBe(300);
    expect(a.rows).toHaveLength(300);
    expect(a.dates).toEqual(all.dates);
    expect(readFeatureRows(store, {}, 300, 1).rows).toEqual(a.rows);
    expect(readFeatureRows(store, {}, 300, 2).rows).not.toEqual(a.rows);
    // Kept in partition order, and drawn from the whole window (not just its first partitions).
    const dates = a.rows.map((r) => String(r.date));
    expect(dates).toEqual([...dates].sort());
    expect(dates[dates.length - 1]! > all.dates[Math.floor(all.dates.length / 2)]!).toBe(true);
    const ids = new Set(all.rows.map((r) => r.txn_id));
    for (const r of a.rows) expect(ids.has(r.txn_id)).toBe(true);
  });
});
