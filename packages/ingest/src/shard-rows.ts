import { shardOf } from '@bolsillo/core';
import type { ColumnarBucket, ColumnarParsedFile } from './parse-fast';
import type { QuasiIdentifiers } from './parse-file';

/** The figures of a parsed file that count valid rows (the others, e.g. quarantine and duplicates, are whole-file). */
interface RowFigures {
  rowsOut: number;
  nullAmounts: number;
  emptyMerchantCity: number;
  emptyMerchantCountry: number;
  readonly dateCounts: Map<string, number>;
  readonly customers: Map<string, QuasiIdentifiers>;
  readonly merchantGroups: Map<string, number>;
}

const emptyFigures = (): RowFigures => ({
  rowsOut: 0,
  nullAmounts: 0,
  emptyMerchantCity: 0,
  emptyMerchantCountry: 0,
  dateCounts: new Map(),
  customers: new Map(),
  merchantGroups: new Map(),
});

/**
 * Keeps a shard's rows of parsed files: those whose customer key hashes to `index` of `count`. Every shard
 * parses every file (a customer's key is only known once its row is parsed) and keeps its own customers'
 * rows, before they are spilled or written; the file's row figures (valid rows, per date, customers,
 * merchant groups, null amounts) then become the shard's, while whole-file figures (rows read,
 * quarantine, duplicates) stay as parsed, the same in every shard.
 */
export class ShardRowFilter {
  private readonly figures = new Map<ColumnarParsedFile, RowFigures>();
  private readonly shards = new WeakMap<ColumnarParsedFile, Uint8Array>();

  constructor(
    readonly index: number,
    readonly count: number,
  ) {}

  /** Keep only the shard's rows in `parsed.buckets` (in place, line order kept), counting them. */
  restrict(parsed: ColumnarParsedFile): void {
    replace(parsed.buckets, [...this.kept(parsed)]);
  }

  /** After the file's parse (its last rows restricted): its row figures become the shard's. */
  finish(parsed: ColumnarParsedFile): void {
    this.restrict(parsed);
    this.settle(parsed, parsed);
  }

  /**
   * {@link restrict} into a copy, leaving `parsed` whole for the other parts (one process writing every
   * part); the rows are counted towards `parsed`'s figures all the same.
   */
  restricted(parsed: ColumnarParsedFile): ColumnarParsedFile {
    return { ...parsed, buckets: this.kept(parsed) };
  }

  /** {@link finish} into a copy: the shard's rows and row figures of `parsed`, which stays whole. */
  finished(parsed: ColumnarParsedFile): ColumnarParsedFile {
    const out: ColumnarParsedFile = {
      ...parsed,
      buckets: this.kept(parsed),
      dateCounts: new Map(),
      customers: new Map(),
      merchantGroups: {},
    };
    this.settle(parsed, out);
    return out;
  }

  /** The shard's rows of `parsed.buckets` (dates in their order, rows in line order), counted. */
  private kept(parsed: ColumnarParsedFile): Map<string, ColumnarBucket[]> {
    let figures = this.figures.get(parsed);
    if (!figures) this.figures.set(parsed, (figures = emptyFigures()));
    const mine = this.identitiesOfShard(parsed);
    const out = new Map<string, ColumnarBucket[]>();
    for (const [date, parts] of parsed.buckets) {
      const kept = parts.map((b) => keepRows(b, mine)).filter((b) => b.length > 0);
      if (kept.length === 0) continue;
      out.set(date, kept);
      for (const b of kept) count(figures, parsed, date, b);
    }
    return out;
  }

  /** The row figures counted for `parsed` become `out`'s (and are forgotten). */
  private settle(parsed: ColumnarParsedFile, out: ColumnarParsedFile): void {
    const f = this.figures.get(parsed) ?? emptyFigures();
    this.figures.delete(parsed);
    out.rowsOut = f.rowsOut;
    out.nullAmounts = f.nullAmounts;
    out.emptyMerchantCity = f.emptyMerchantCity;
    out.emptyMerchantCountry = f.emptyMerchantCountry;
    replace(
      out.dateCounts,
      [...f.dateCounts].sort(([a], [b]) => (a < b ? -1 : 1)),
    );
    replace(out.customers, [...f.customers]);
    for (const g of Object.keys(out.merchantGroups)) delete out.merchantGroups[g];
    for (const [g, n] of f.merchantGroups) out.merchantGroups[g] = n;
  }

  /** 1 for each identity of the file whose customer belongs to this shard (extended as the file's identities grow). */
  private identitiesOfShard(parsed: ColumnarParsedFile): Uint8Array {
    const ids = parsed.identities;
    let mine = this.shards.get(parsed);
    if (!mine || mine.length < ids.length) {
      const next = new Uint8Array(ids.length);
      if (mine) next.set(mine);
      for (let j = mine?.length ?? 0; j < ids.length; j++)
        next[j] = shardOf(ids[j]!.customer_key, this.count) === this.index ? 1 : 0;
      this.shards.set(parsed, (mine = next));
    }
    return mine;
  }
}

function replace<K, V>(map: Map<K, V>, entries: readonly (readonly [K, V])[]): void {
  map.clear();
  for (const [k, v] of entries) map.set(k, v);
}

function keepRows(b: ColumnarBucket, mine: Uint8Array): ColumnarBucket {
  let n = 0;
  for (let r = 0; r < b.length; r++) n += mine[b.identity[r]!]!;
  if (n === b.length) return b;
  const out: ColumnarBucket = {
    length: n,
    identity: new Int32Array(n),
    merchant: new Int32Array(n),
    credit_limit: new Int32Array(n),
    available_limit: new Int32Array(n),
    amount: new Float64Array(n),
    source_line: new Int32Array(n),
  };
  let k = 0;
  for (let r = 0; r < b.length; r++) {
    if (mine[b.identity[r]!] !== 1) continue;
    out.identity[k] = b.identity[r]!;
    out.merchant[k] = b.merchant[r]!;
    out.credit_limit[k] = b.credit_limit[r]!;
    out.available_limit[k] = b.available_limit[r]!;
    out.amount[k] = b.amount[r]!;
    out.source_line[k] = b.source_line[r]!;
    k++;
  }
  return out;
}

function count(f: RowFigures, parsed: ColumnarParsedFile, date: string, b: ColumnarBucket): void {
  f.rowsOut += b.length;
  f.dateCounts.set(date, (f.dateCounts.get(date) ?? 0) + b.length);
  for (let r = 0; r < b.length; r++) {
    if (Number.isNaN(b.amount[r]!)) f.nullAmounts += 1;
    const m = parsed.merchants[b.merchant[r]!]!;
    if (m.merchant_city === null) f.emptyMerchantCity += 1;
    if (m.merchant_country === null) f.emptyMerchantCountry += 1;
    f.merchantGroups.set(m.merchant_group, (f.merchantGroups.get(m.merchant_group) ?? 0) + 1);
    const e = parsed.identities[b.identity[r]!]!;
    if (!f.customers.has(e.customer_key))
      f.customers.set(e.customer_key, { age: e.age, sex: e.sex, city: e.city, state: e.state });
  }
}
