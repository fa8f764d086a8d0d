import { customerKey, cyrb53 } from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import {
  IngestError,
  checkHeader,
  decodeBlock,
  maskRawLine,
  parseLine,
  validateTransaction,
  type DomainRules,
  type ReasonCode,
  type SourceEncoding,
} from './dialect';

/** A row that failed validation, as stored in the quarantine (the id field masked). */
export interface QuarantineEntry {
  readonly source_file: string;
  readonly source_line: number;
  readonly reason: ReasonCode;
  readonly detail: string;
  readonly raw_line: string;
}

/** Valid rows of one date, column by column (compact: strings are interned, txn_id is derived on write). */
export interface DateBucket {
  customer_key: string[];
  account_cohort: string[];
  city: string[];
  state: string[];
  age: number[];
  sex: string[];
  credit_limit: number[];
  available_limit: number[];
  amount: (number | null)[];
  merchant_group: string[];
  merchant_city: (string | null)[];
  merchant_country: (string | null)[];
  source_line: number[];
}

/** Quasi-identifiers of a customer (for the k-anonymity report). */
export interface QuasiIdentifiers {
  readonly age: number;
  readonly sex: string;
  readonly city: string;
  readonly state: string;
}

/** Everything learnt from one source file. */
/** What every parse of a file reports besides its buffered rows (shared by the one-pass and the columnar parse). */
export type ParseSummary = Omit<ParsedFile, 'buckets'>;

/** A {@link ParseSummary} with nothing counted yet (encoding `ascii` until a non-ASCII byte is seen). */
export function emptyParseSummary(file: string): ParseSummary {
  return {
    file,
    encoding: 'ascii',
    bytes: 0,
    rowsIn: 0,
    rowsOut: 0,
    duplicates: 0,
    nullAmounts: 0,
    emptyMerchantCity: 0,
    emptyMerchantCountry: 0,
    reasons: {},
    quarantine: [],
    dateCounts: new Map(),
    customers: new Map(),
    merchantGroups: {},
  };
}

export interface ParsedFile {
  readonly file: string;
  encoding: SourceEncoding;
  bytes: number;
  rowsIn: number;
  rowsOut: number;
  duplicates: number;
  nullAmounts: number;
  emptyMerchantCity: number;
  emptyMerchantCountry: number;
  readonly reasons: Record<string, number>;
  readonly quarantine: QuarantineEntry[];
  readonly buckets: Map<string, DateBucket>;
  /** Valid rows per date, spilled ones included. */
  readonly dateCounts: Map<string, number>;
  readonly customers: Map<string, QuasiIdentifiers>;
  readonly merchantGroups: Record<string, number>;
}

/**
 * Where {@link parseFile} hands its buffered rows when more than `maxRows` are held, so that memory stays
 * bounded whatever the file size. The buckets passed are cleared afterwards; rows spilled are no longer
 * in the returned {@link ParsedFile.buckets} (the caller keeps track of what it spilled).
 */
export interface SpillSink {
  readonly maxRows: number;
  write(buckets: ReadonlyMap<string, DateBucket>): void;
}

/** Parameters of {@link parseFile}. */
export interface ParseParams extends DomainRules {
  /** The pseudonymisation secret (never stored). */
  readonly secret: string;
}

const MAX_LINE_BYTES = 1 << 20;

function emptyBucket(): DateBucket {
  return {
    customer_key: [],
    account_cohort: [],
    city: [],
    state: [],
    age: [],
    sex: [],
    credit_limit: [],
    available_limit: [],
    amount: [],
    merchant_group: [],
    merchant_city: [],
    merchant_country: [],
    source_line: [],
  };
}

/**
 * Parse one source file from a stream of byte chunks, in bounded working memory per chunk (valid rows
 * are kept, compactly, grouped by date). No file system access: the caller provides the bytes.
 * Throws {@link IngestError} for a wrong header, undecodable bytes or a file without valid rows.
 */
export async function parseFile(
  file: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  params: ParseParams,
  onProgress?: (bytes: number, rows: number) => void,
  spill?: SpillSink,
): Promise<ParsedFile> {
  const out: ParsedFile = { ...emptyParseSummary(file), buckets: new Map() };
  // Line hashes in a flat array, sorted and compared once at the end: 8 bytes per row, unlike a Set.
  let hashes = new Float64Array(1 << 16);
  let hashCount = 0;
  let buffered = 0;
  const keys = new Map<string, string>();
  let mode: SourceEncoding = 'ascii';
  let lineNo = 0; // lines consumed so far
  let headerSeen = false;
  let carry: Uint8Array = new Uint8Array(0);

  const reject = (line: string, n: number, reason: ReasonCode, detail: string) => {
    out.reasons[reason] = (out.reasons[reason] ?? 0) + 1;
    out.quarantine.push({ source_file: file, source_line: n, reason, detail, raw_line: maskRawLine(line) });
  };

  const handleLine = (raw: string) => {
    lineNo += 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!headerSeen) {
      headerSeen = true;
      checkHeader(line, file);
      return;
    }
    if (line.length === 0) return; // blank lines carry no row
    out.rowsIn += 1;
    if (hashCount === hashes.length) {
      const grown = new Float64Array(hashes.length * 2);
      grown.set(hashes);
      hashes = grown;
    }
    hashes[hashCount++] = cyrb53(line); // exact duplicates without keeping every line
    const parsed = parseLine(line, file, lineNo, params);
    if ('reason' in parsed) {
      reject(line, lineNo, parsed.reason, parsed.detail);
      return;
    }
    const t = parsed.txn;
    const identity = `${parsed.rawId}\u001f${t.account_cohort}\u001f${t.city}\u001f${t.state}\u001f${t.age}\u001f${t.sex}`;
    let key = keys.get(identity);
    if (key === undefined) {
      key = customerKey(params.secret, {
        id: parsed.rawId,
        account_cohort: t.account_cohort,
        city: t.city,
        state: t.state,
        age: t.age,
        sex: t.sex,
      });
      keys.set(identity, key);
    }
    const txn: Transaction = { ...t, customer_key: key };
    const invalid = validateTransaction(txn);
    if (invalid) {
      reject(line, lineNo, invalid.reason, invalid.detail);
      return;
    }
    if (!out.customers.has(key)) out.customers.set(key, { age: t.age, sex: t.sex, city: t.city, state: t.state });
    let b = out.buckets.get(t.date);
    if (!b) {
      b = emptyBucket();
      out.buckets.set(t.date, b);
    }
    b.customer_key.push(key);
    b.account_cohort.push(t.account_cohort);
    b.city.push(t.city);
    b.state.push(t.state);
    b.age.push(t.age);
    b.sex.push(t.sex);
    b.credit_limit.push(t.credit_limit);
    b.available_limit.push(t.available_limit);
    b.amount.push(t.amount);
    b.merchant_group.push(t.merchant_group);
    b.merchant_city.push(t.merchant_city);
    b.merchant_country.push(t.merchant_country);
    b.source_line.push(lineNo);
    out.dateCounts.set(t.date, (out.dateCounts.get(t.date) ?? 0) + 1);
    out.rowsOut += 1;
    buffered += 1;
    if (spill && buffered >= spill.maxRows) {
      spill.write(out.buckets);
      out.buckets.clear();
      buffered = 0;
    }
    if (t.amount === null) out.nullAmounts += 1;
    if (t.merchant_city === null) out.emptyMerchantCity += 1;
    if (t.merchant_country === null) out.emptyMerchantCountry += 1;
    out.merchantGroups[t.merchant_group] = (out.merchantGroups[t.merchant_group] ?? 0) + 1;
  };

  const handleBlock = (bytes: Uint8Array) => {
    const decoded = decodeBlock(bytes, mode, { file, firstLine: lineNo + 1 });
    if (decoded.mode !== 'ascii') mode = decoded.mode;
    const lines = decoded.text.split('\n');
    // The block ends with '\n', so the last element is empty.
    for (let i = 0; i < lines.length - 1; i++) handleLine(lines[i]!);
  };

  for await (const chunk of chunks) {
    out.bytes += chunk.length;
    const last = chunk.lastIndexOf(0x0a);
    if (last < 0) {
      carry = concat(carry, chunk);
      // Working memory stays bounded: no real line is anywhere near this long (binary garbage is).
      if (carry.length > MAX_LINE_BYTES)
        throw new IngestError(`${file}: line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes (not a CSV line)`);
      continue;
    }
    handleBlock(concat(carry, chunk.subarray(0, last + 1)));
    carry = chunk.slice(last + 1);
    onProgress?.(out.bytes, out.rowsIn);
  }
  if (carry.length > 0) {
    // A last line without a line break: parse it like any other (a truncated one fails validation).
    const decoded = decodeBlock(carry, mode, { file, firstLine: lineNo + 1 });
    if (decoded.mode !== 'ascii') mode = decoded.mode;
    handleLine(decoded.text);
  }
  out.encoding = mode;
  const sorted = hashes.subarray(0, hashCount).sort();
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) out.duplicates += 1;
  if (!headerSeen) throw new IngestError(`${file}: empty file (no header line)`);
  if (out.rowsOut === 0) {
    const reasons = Object.entries(out.reasons)
      .map(([r, n]) => `${r}: ${n}`)
      .join(', ');
    throw new IngestError(
      `${file}: no valid rows (${out.rowsIn} data rows${reasons ? `; quarantined ${reasons}` : ''})`,
    );
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const c = new Uint8Array(a.length + b.length);
  c.set(a, 0);
  c.set(b, a.length);
  return c;
}

/** The customer attributes k-anonymity is measured over. */
export const QUASI_IDENTIFIERS = ['age', 'sex', 'city', 'state'] as const;
/** One of {@link QUASI_IDENTIFIERS}. */
export type QuasiIdentifier = (typeof QUASI_IDENTIFIERS)[number];

/** k-anonymity of one quasi-identifier set. */
export interface KAnonymitySet {
  readonly quasi_identifiers: readonly QuasiIdentifier[];
  /** Smallest number of customers sharing one combination of values. */
  readonly k: number;
  readonly groups: number;
  readonly customers: number;
  /** Groups smaller than the minimum, and the customers in them. */
  readonly groups_below: number;
  readonly customers_below: number;
  readonly ok: boolean;
}

/** k-anonymity per quasi-identifier set against a minimum. */
export interface KAnonymityReport {
  readonly min_k: number;
  readonly sets: readonly KAnonymitySet[];
  /** Whether every set reaches the minimum. */
  readonly ok: boolean;
}

/** k-anonymity of the customers for each quasi-identifier set, against `minK` (pure). */
export function kAnonymityReport(
  customers: readonly QuasiIdentifiers[],
  sets: readonly (readonly QuasiIdentifier[])[],
  minK: number,
): KAnonymityReport {
  return kAnonymityFromGroups(kAnonymityGroups(customers, sets), sets, minK);
}

/**
 * Customers per combination of quasi-identifier values, one record per set: the partial aggregate of
 * k-anonymity. Shards hold disjoint customers, so the merge adds their counts ({@link addKAnonymityGroups}).
 */
export function kAnonymityGroups(
  customers: Iterable<QuasiIdentifiers>,
  sets: readonly (readonly QuasiIdentifier[])[],
): Record<string, number>[] {
  const out = sets.map(() => new Map<string, number>());
  for (const c of customers)
    sets.forEach((qi, s) => {
      const g = qi.map((q) => String(c[q])).join('|');
      out[s]!.set(g, (out[s]!.get(g) ?? 0) + 1);
    });
  return out.map((m) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The sum of group counts of disjoint sets of customers (shards), set by set. */
export function addKAnonymityGroups(parts: readonly (readonly Record<string, number>[])[]): Record<string, number>[] {
  const width = Math.max(0, ...parts.map((p) => p.length));
  return Array.from({ length: width }, (_, s) => {
    const sum = new Map<string, number>();
    for (const p of parts) for (const [g, n] of Object.entries(p[s] ?? {})) sum.set(g, (sum.get(g) ?? 0) + n);
    return Object.fromEntries([...sum].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  });
}

/** {@link kAnonymityReport} from group counts ({@link kAnonymityGroups}). */
export function kAnonymityFromGroups(
  groupsPerSet: readonly Readonly<Record<string, number>>[],
  sets: readonly (readonly QuasiIdentifier[])[],
  minK: number,
): KAnonymityReport {
  const out = sets.map((qi, s): KAnonymitySet => {
    const counts = Object.values(groupsPerSet[s] ?? {});
    const customers = counts.reduce((a, n) => a + n, 0);
    const small = counts.filter((n) => n < minK);
    const k = counts.length ? counts.reduce((m, n) => Math.min(m, n), Infinity) : 0;
    return {
      quasi_identifiers: [...qi],
      k,
      groups: counts.length,
      customers,
      groups_below: small.length,
      customers_below: small.reduce((a, n) => a + n, 0),
      ok: customers === 0 || k >= minK,
    };
  });
  return { min_k: minK, sets: out, ok: out.every((s) => s.ok) };
}

/** Smallest number of customers sharing the same quasi-identifiers (age, sex, city, state). */
export function kAnonymity(customers: Iterable<QuasiIdentifiers>): { k: number; groups: number; customers: number } {
  const groups = new Map<string, number>();
  let n = 0;
  for (const q of customers) {
    const g = `${q.age}|${q.sex}|${q.city}|${q.state}`;
    groups.set(g, (groups.get(g) ?? 0) + 1);
    n += 1;
  }
  return { k: groups.size ? Math.min(...groups.values()) : 0, groups: groups.size, customers: n };
}
