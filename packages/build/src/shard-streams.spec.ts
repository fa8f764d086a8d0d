import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tableFromRows, writeParquetFile } from '@bolsillo/core';
import { TARGET } from '@bolsillo/schema';
import { Bool, Field, Float64, Schema, Utf8 } from 'apache-arrow';
import { cellsOf, frameFromRows, type Cell, type Frame } from './frame';
import { canonicalOrder } from './master';
import { mergedRows, mergeOrder } from './shard-streams';

const schema = new Schema([
  new Field('date', new Utf8(), true),
  new Field('txn_id', new Utf8(), true),
  new Field('customer_key', new Utf8(), true),
  new Field(TARGET, new Bool(), true),
  new Field('x', new Float64(), true),
  new Field('state', new Utf8(), true),
]);
const NAMES = schema.fields.map((f) => f.name);
type Row = Record<string, Cell>;

/**
 * Three shards' staged rows, each sorted as a build shard sorts its own (canonical order): dates
 * interleave across shards, ids collide across shards on the same date (ties keep shard order),
 * ids compare as text ("t10" < "t9"), and values include nulls.
 */
function shardRows(): Row[][] {
  const dates = ['2020-01-01', '2020-01-02', '2020-01-03', '2020-01-10'];
  return [0, 1, 2].map((s) => {
    const rows: Row[] = [];
    for (let k = 0; k < 11 + 3 * s; k++) {
      const id = k % 4 === 0 ? `t${k}` : `t${(k * 7 + s) % 13}-${s}`;
      rows.push({
        date: dates[(k * (s + 1)) % dates.length]!,
        txn_id: id,
        customer_key: `c${(k + s) % 5}`,
        [TARGET]: k % 3 === 0,
        x: k % 5 === 0 ? null : k * 1.5 - s,
        state: k % 6 === 0 ? null : ['SP', 'RJ', 'MG'][(k + s) % 3]!,
      });
    }
    const frame = frameFromRows(rows, NAMES);
    return Array.from(
      canonicalOrder(frame, () => true),
      (i) => rows[i]!,
    );
  });
}

function rowsOf(frame: Frame, names: readonly string[]): Row[] {
  const cols = names.map((n) => cellsOf(frame.columns[n]!));
  return Array.from({ length: frame.length }, (_, i) => Object.fromEntries(names.map((n, c) => [n, cols[c]![i]!])));
}

describe('merging the build shards in canonical order', () => {
  const shards = shardRows();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-shard-streams-'));
  const files = shards.map((rows, s) => {
    const file = path.join(dir, `${s}.parquet`);
    writeParquetFile(file, tableFromRows(schema, rows));
    return file;
  });
  // What the merge must equal: every shard's rows one after another, sorted in canonical order.
  const all = shards.flat();
  const shardOfRow = shards.flatMap((rows, s) => rows.map(() => s));
  const order = Array.from(canonicalOrder(frameFromRows(all, NAMES), () => true));
  const expected = order.map((i) => all[i]!);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('orders the rows as a stable sort of all shards by date and id, in batches of any size', async () => {
    expect(new Set(order.map((i) => shardOfRow[i])).size).toBe(3);
    for (const batch of [2, 3, 1000]) {
      const merged = await mergeOrder(files, all.length, TARGET, batch);
      expect(Array.from(merged.shard)).toEqual(order.map((i) => shardOfRow[i]));
      expect(Array.from(merged.y)).toEqual(expected.map((r) => (r[TARGET] ? 1 : 0)));
      expect(Array.from(merged.customer.codes, (c) => merged.customer.dict[c])).toEqual(
        expected.map((r) => r.customer_key),
      );
      expect(Array.from(merged.date.codes, (c) => merged.date.dict[c])).toEqual(expected.map((r) => r.date));
      expect(merged.date.codes).toBeInstanceOf(Uint16Array);
    }
  });

  it('holds date codes in 16 bits, widened when a shard brings more than 65,536 dates', async () => {
    const n = 70_000;
    const day = (k: number) => `d${String(k).padStart(6, '0')}`;
    const rows = Array.from({ length: n }, (_, k) => ({
      date: day(k),
      txn_id: 't',
      customer_key: 'c',
      [TARGET]: false,
      x: null,
      state: null,
    }));
    const file = path.join(dir, 'dates.parquet');
    writeParquetFile(file, tableFromRows(schema, rows));
    const merged = await mergeOrder([file], n, TARGET);
    expect(merged.date.codes).toBeInstanceOf(Int32Array);
    expect(merged.date.dict.length).toBe(n);
    expect(Array.from(merged.date.codes, (c) => merged.date.dict[c])).toEqual(rows.map((r) => r.date));
  });

  it('streams the kept rows in that order, in chunks, reading only the columns asked for', async () => {
    const { shard } = await mergeOrder(files, all.length, TARGET);
    const keep = (i: number) => i % 3 !== 1;
    const names = ['txn_id', 'x', 'state'];
    for (const [chunk, batch] of [
      [4, 2],
      [5, 3],
      [10_000, 10_000],
    ] as const) {
      const parts: Frame[] = [];
      for await (const part of mergedRows(files, shard, keep, chunk, names, batch)) parts.push(part);
      expect(parts.slice(0, -1).every((p) => p.length === chunk)).toBe(true);
      expect(Object.keys(parts[0]!.columns).sort()).toEqual([...names].sort());
      const got = parts.flatMap((p) => rowsOf(p, names));
      const want = expected.filter((_, i) => keep(i)).map((r) => Object.fromEntries(names.map((n) => [n, r[n]!])));
      expect(got).toEqual(want);
    }
  });

  it('gives one empty frame with the columns when no row is kept, and refuses a wrong row count', async () => {
    const { shard } = await mergeOrder(files, all.length, TARGET);
    const parts: Frame[] = [];
    for await (const part of mergedRows(files, shard, () => false, 4, ['x'])) parts.push(part);
    expect(parts.map((p) => [p.length, Object.keys(p.columns)])).toEqual([[0, ['x']]]);
    await expect(mergeOrder(files, all.length - 1, TARGET)).rejects.toThrow(/more staged rows than their stats say/);
    await expect(mergeOrder(files, all.length + 1, TARGET)).rejects.toThrow(/staged rows, their stats say/);
  });
});
