import crypto from 'node:crypto';
import { BooleanColumn, NumberColumn, StringColumn, takeRows, Utf8Column, type Column, type Frame } from './frame';
import { contentHash, ContentHasher, MASTER_COLUMNS } from './master';

/** The content hash as defined: one update per row of its cells' JSON array, after the column names. */
function referenceHash(master: Frame): string {
  const h = crypto.createHash('sha256');
  h.update(JSON.stringify(MASTER_COLUMNS));
  for (let i = 0; i < master.length; i++)
    h.update(`\n${JSON.stringify(MASTER_COLUMNS.map((n) => master.columns[n]!.get(i)))}`);
  return h.digest('hex');
}

function utf8(values: (string | null)[]): Utf8Column {
  const parts = values.map((v) => Buffer.from(v ?? '', 'utf8'));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((p, i) => (offsets[i + 1] = offsets[i]! + p.length));
  return new Utf8Column(
    offsets,
    Buffer.concat(parts),
    Uint8Array.from(values, (v) => (v === null ? 0 : 1)),
  );
}

describe('contentHash', () => {
  it('hashes the bytes of every row as JSON, whatever the column representation', () => {
    const n = 3000;
    const texts = ['a', 'plain-id#12', 'quo"te', 'back\\slash', 'tab\there', 'ção', '😀', '\u2028', ''];
    const floats = [0, -0, 1.5, -2.25, 1e21, 123456789012, 2147483648, -2147483648, 0.1 + 0.2, NaN, Infinity, 5e-324];
    const ints = [0, 1, -1, 9, 10, 99, 100, -2147483648, 2147483647, 1234567];
    const columns: Record<string, Column> = {};
    MASTER_COLUMNS.forEach((name, c) => {
      const pick = <T>(list: readonly T[], i: number) => list[(i * (c + 3) + (i >> 3)) % list.length]!;
      switch (c % 5) {
        case 0:
          columns[name] = utf8(Array.from({ length: n }, (_, i) => (i % 17 === 0 ? null : pick(texts, i))));
          break;
        case 1:
          columns[name] = new StringColumn(
            Int32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? -1 : i % texts.length)),
            texts,
          );
          break;
        case 2:
          columns[name] = new NumberColumn(
            Float64Array.from({ length: n }, (_, i) => pick(floats, i)),
            Uint8Array.from({ length: n }, (_, i) => (i % 11 === 0 ? 0 : 1)),
          );
          break;
        case 3:
          columns[name] = new NumberColumn(
            Int32Array.from({ length: n }, (_, i) => pick(ints, i)),
            c % 2 ? null : Uint8Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : 1)),
          );
          break;
        default:
          columns[name] = new BooleanColumn(Uint8Array.from({ length: n }, (_, i) => i % 3));
      }
    });
    const frame: Frame = { length: n, columns };
    expect(contentHash(frame)).toBe(referenceHash(frame));
    // In parts of any size (the sharded build streams the table): the same hash.
    const parts = new ContentHasher();
    for (const [from, to] of [
      [0, 1],
      [1, 1],
      [1, 1000],
      [1000, 2999],
      [2999, n],
    ] as const)
      parts.update(
        takeRows(
          frame,
          Array.from({ length: to - from }, (_, k) => from + k),
        ),
      );
    expect(parts.digest()).toBe(referenceHash(frame));
  });

  it('hashes a long text cell that does not fit the buffer', () => {
    const long = 'x'.repeat((1 << 20) + 5);
    const columns: Record<string, Column> = {};
    for (const name of MASTER_COLUMNS)
      columns[name] = new StringColumn(Int32Array.from([0, 1, 0]), [long, `"${long}é`]);
    const frame: Frame = { length: 3, columns };
    expect(contentHash(frame)).toBe(referenceHash(frame));
  });
});
