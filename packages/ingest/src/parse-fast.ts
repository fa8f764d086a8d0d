import fs from 'node:fs';
import { customerKey } from '@bolsillo/core';
import { TransactionSchema, type Transaction } from '@bolsillo/schema';
import {
  FIELD_VALIDATORS,
  IngestError,
  SINGLE_BYTE_OK,
  checkHeader,
  classifyBlock,
  decodeRange,
  maskRawLine,
  parseIdentity,
  parseLine,
  parseMerchant,
  parseSourceDate,
  validateTransaction,
  type ReasonCode,
  type SourceEncoding,
} from './dialect';
import { emptyParseSummary, type ParseParams, type ParseSummary } from './parse-file';

/** A distinct customer identity seen in a file: its pseudonym and the fields derived from it. */
export interface IdentityEntry {
  readonly customer_key: string;
  readonly account_cohort: string;
  readonly city: string;
  readonly state: string;
  readonly age: number;
  readonly sex: 'F' | 'M';
}

/** A distinct (merchant group, merchant city, merchant country) triple seen in a file. */
export interface MerchantEntry {
  readonly merchant_group: string;
  readonly merchant_city: string | null;
  readonly merchant_country: string | null;
}

/**
 * Valid rows of one date in typed columns: 28 bytes a row, no per-row objects or strings. Identity and
 * merchant columns are indices into the file's {@link ColumnarParsedFile.identities} and `merchants`.
 */
export interface ColumnarBucket {
  length: number;
  identity: Int32Array;
  merchant: Int32Array;
  credit_limit: Int32Array;
  available_limit: Int32Array;
  /** NaN stands for null (a valid amount is never NaN). */
  amount: Float64Array;
  source_line: Int32Array;
}

/** Everything learnt from one source file, valid rows held column-wise. */
export interface ColumnarParsedFile extends ParseSummary {
  /**
   * Valid rows per date in line order, in one or more parts: one part per date from a one-pass parse,
   * one per range that held the date from a parse in byte ranges (the ranges' own buffers, not copied).
   */
  readonly buckets: Map<string, ColumnarBucket[]>;
  readonly identities: IdentityEntry[];
  readonly merchants: MerchantEntry[];
}

/** Where buffered rows go when more than `maxRows` are held (bounded memory); buckets are cleared after. */
export interface ColumnarSpillSink {
  readonly maxRows: number;
  write(parsed: ColumnarParsedFile): void;
}

const MAX_LINE_BYTES = 1 << 20;
const SEMI = 0x3b;
const NL = 0x0a;
const FIELDS = 13;
const INT32_MAX = 2 ** 31 - 1;
const V = FIELD_VALIDATORS;

// Pseudonyms already computed on this thread (raw identity text → customer_key) for one secret: a file
// parsed in many byte ranges pays the HMAC once per distinct identity and thread, not once per range.
// Bounded: cleared when full (a cache miss only costs the HMAC again).
const PSEUDONYM_CACHE_MAX = 1 << 19;
let pseudonyms: { secret: string; keys: Map<string, string> } | null = null;
function pseudonymCache(secret: string): Map<string, string> {
  if (pseudonyms?.secret !== secret) pseudonyms = { secret, keys: new Map() };
  return pseudonyms.keys;
}

/** A parse result with nothing in it yet: what a range parse starts from and range results merge into. */
export function emptyParsedFile(file: string, encoding: SourceEncoding): ColumnarParsedFile {
  return { ...emptyParseSummary(file), encoding, buckets: new Map(), identities: [], merchants: [] };
}

/**
 * Valid rows in line order, staged before they are sorted into date buckets: growable columns reused by
 * every parse on a thread (see takeStaging), so a parse allocates no per-date growth buffers. Rows are
 * moved into exact-size buckets by {@link flushStaging}.
 */
interface Staging extends ColumnarBucket {
  date: Int32Array;
  hashes: Float64Array;
}

// Rows staged before a flush: bounds the staging columns (36 bytes a row) of a one-pass parse of a large file.
const STAGING_MAX_ROWS = 1 << 20;
// Groups of consecutive dates a flush splits its rows into (see flushStaging).
const FLUSH_GROUPS = 8;
let spareStaging: Staging | null = null;

// The thread's staging columns if no other parse holds them (parses on one thread may interleave), else new ones.
function takeStaging(): Staging {
  const st = spareStaging ?? newStaging(1 << 12);
  spareStaging = null;
  st.length = 0;
  return st;
}

function newStaging(capacity: number): Staging {
  return {
    length: 0,
    date: new Int32Array(capacity),
    identity: new Int32Array(capacity),
    merchant: new Int32Array(capacity),
    credit_limit: new Int32Array(capacity),
    available_limit: new Int32Array(capacity),
    amount: new Float64Array(capacity),
    source_line: new Int32Array(capacity),
    hashes: new Float64Array(capacity),
  };
}

function growRows(st: Staging): void {
  const n = st.identity.length * 2;
  const g = <T extends Int32Array | Float64Array>(a: T): T => {
    const c = new (a.constructor as new (n: number) => T)(n);
    c.set(a);
    return c;
  };
  st.date = g(st.date);
  st.identity = g(st.identity);
  st.merchant = g(st.merchant);
  st.credit_limit = g(st.credit_limit);
  st.available_limit = g(st.available_limit);
  st.amount = g(st.amount);
  st.source_line = g(st.source_line);
}

/**
 * Move the staged rows into date buckets, appended as a new part of each date (dates new to `out` in the
 * order of their first row, `dates` being in that order; rows in line order). The rows go into a few
 * exact-size buffers, each date's bucket a view of its slice: no slack and few long-lived allocations,
 * so little heap fragmentation. The buffers are per group of consecutive dates (in date order, the order
 * the write phase goes in), so the write phase frees them group by group instead of all at the end.
 */
function flushStaging(st: Staging, dates: readonly string[], out: ColumnarParsedFile): void {
  const n = st.length;
  st.length = 0;
  if (n === 0) return;
  const counts = new Int32Array(dates.length);
  for (let i = 0; i < n; i++) counts[st.date[i]!]! += 1;
  const order = [...dates.keys()].sort((a, b) => (dates[a]! < dates[b]! ? -1 : dates[a]! > dates[b]! ? 1 : 0));
  const groupOf = new Int32Array(dates.length);
  const start = new Int32Array(dates.length);
  const sizes = new Int32Array(FLUSH_GROUPS);
  for (const [rank, d] of order.entries()) {
    const g = Math.floor((rank * FLUSH_GROUPS) / dates.length);
    groupOf[d] = g;
    start[d] = sizes[g]!;
    sizes[g]! += counts[d]!;
  }
  const groups = Array.from(sizes, (size) => ({
    identity: new Int32Array(size),
    merchant: new Int32Array(size),
    credit: new Int32Array(size),
    avail: new Int32Array(size),
    amount: new Float64Array(size),
    line: new Int32Array(size),
  }));
  const at = start.slice();
  for (let i = 0; i < n; i++) {
    const d = st.date[i]!;
    const c = groups[groupOf[d]!]!;
    const j = at[d]!++;
    c.identity[j] = st.identity[i]!;
    c.merchant[j] = st.merchant[i]!;
    c.credit[j] = st.credit_limit[i]!;
    c.avail[j] = st.available_limit[i]!;
    c.amount[j] = st.amount[i]!;
    c.line[j] = st.source_line[i]!;
  }
  for (let d = 0; d < dates.length; d++) {
    if (counts[d] === 0) continue;
    const c = groups[groupOf[d]!]!;
    const a = start[d]!;
    const e = a + counts[d]!;
    const part: ColumnarBucket = {
      length: e - a,
      identity: c.identity.subarray(a, e),
      merchant: c.merchant.subarray(a, e),
      credit_limit: c.credit.subarray(a, e),
      available_limit: c.avail.subarray(a, e),
      amount: c.amount.subarray(a, e),
      source_line: c.line.subarray(a, e),
    };
    const parts = out.buckets.get(dates[d]!);
    if (parts) parts.push(part);
    else out.buckets.set(dates[d]!, [part]);
  }
}

const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d;

/**
 * A non-negative integer field ("^\d+$" after trimming) of at most int32 range, parsed from ASCII bytes;
 * -1 when the bytes are anything else (the row then takes the string path, which decides exactly).
 */
function parseIntField(buf: Uint8Array, s: number, e: number): number {
  while (s < e && isSpace(buf[s]!)) s++;
  while (e > s && isSpace(buf[e - 1]!)) e--;
  if (e === s || e - s > 10) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v > INT32_MAX ? -1 : v;
}

/**
 * A Brazilian amount from ASCII bytes, exactly as `parseBrazilianAmount`: the digits form an integer below
 * 2^53 divided by a power of ten, which IEEE division rounds correctly, i.e. to the same double as the
 * decimal text. Returns null for the missing marker, undefined when the fast path cannot decide (negative,
 * malformed, too many digits): the string path then handles the row.
 */
function parseAmountField(buf: Uint8Array, s: number, e: number): number | null | undefined {
  while (s < e && isSpace(buf[s]!)) s++;
  while (e > s && isSpace(buf[e - 1]!)) e--;
  if (e === s || (e - s === 1 && buf[s] === 0x2d)) return null;
  let i = s;
  let value = 0;
  let digits = 0;
  // Integer part: plain digits, or 1-3 digits followed by groups of ".ddd".
  let run = 0;
  let grouped = false;
  while (i < e) {
    const b = buf[i]!;
    if (b >= 48 && b <= 57) {
      value = value * 10 + (b - 48);
      digits++;
      run++;
      i++;
    } else if (b === 0x2e) {
      if (grouped ? run !== 3 : run < 1 || run > 3) return undefined;
      grouped = true;
      run = 0;
      i++;
    } else break;
  }
  if (run === 0 || (grouped && run !== 3)) return undefined;
  let scale = 1;
  if (i < e) {
    if (buf[i] !== 0x2c || i + 1 === e) return undefined;
    i++;
    while (i < e) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) return undefined;
      value = value * 10 + d;
      digits++;
      scale *= 10;
      i++;
    }
  }
  if (digits > 15) return undefined;
  return scale === 1 ? value : value / scale;
}

// 53-bit string hash (cyrb53), the same as parse-file's over the decoded line: exact-duplicate detection.
function hashString(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * Parse one source file from a stream of byte chunks into typed columns, with exactly the results of
 * `parseFile` (the string-based reference: same rows, values, rejections, counts). Works on the bytes:
 * fields are located by offset; the identity fields, the date and the merchant fields are decoded,
 * checked and pseudonymised once per distinct raw text (cached); limits and amounts are parsed from the
 * digits. Any row the byte path cannot decide goes through the reference `parseLine` and the whole-row
 * ajv validator. Throws {@link IngestError} as `parseFile` does.
 */
export async function parseFileColumnar(
  file: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  params: ParseParams,
  onProgress?: (bytes: number, rows: number) => void,
  spill?: ColumnarSpillSink,
): Promise<ColumnarParsedFile> {
  const r = await parseRangeColumnar(file, chunks, params, { header: true, onProgress, spill });
  return finishParse(r.parsed, [r.hashes], r.headerSeen);
}

/**
 * What parsing one byte range of a file (whole lines) gives: the rows and counts with line numbers
 * relative to the range (its first line is 1), the range's duplicate hashes sorted, and how many lines it
 * held. Ranges are merged by {@link mergeRanges}; a whole file is the single range with the header.
 */
export interface RangeResult {
  readonly parsed: ColumnarParsedFile;
  /** The 53-bit hash of every data line of the range, sorted (exact duplicates are equal hashes). */
  readonly hashes: Float64Array;
  /** Lines of the range, empty ones included (the next range's first line number is this plus one). */
  readonly lines: number;
  readonly headerSeen: boolean;
}

/** Options of {@link parseRangeColumnar}. */
export interface RangeOptions {
  /** Whether the range starts with the file's header line (the first range). */
  readonly header: boolean;
  readonly onProgress?: (bytes: number, rows: number) => void;
  readonly spill?: ColumnarSpillSink;
}

/**
 * Parse whole lines of one file (all of it, or a byte range split on line boundaries) into typed columns;
 * see {@link parseFileColumnar}. Duplicate counting across ranges and the whole-file checks (no header, no
 * valid rows) are left to {@link finishParse}.
 */
export async function parseRangeColumnar(
  file: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  params: ParseParams,
  options: RangeOptions,
): Promise<RangeResult> {
  const { onProgress, spill } = options;
  const out = emptyParsedFile(file, 'ascii');
  // txn_id and source_file are the same for every row of a file but their type: checked once per file
  // unless the schema constrains them further (then per row, on the string path).
  const txnIdFast = anyString(TransactionSchema.properties.txn_id) && V.txn_id(`${file}#1`) && V.source_file(file);

  const st = takeStaging();
  let hashCount = 0;
  let buffered = 0;
  let mode: SourceEncoding = 'ascii';
  let lineNo = 0;
  let headerSeen = !options.header;
  let carry: Uint8Array = new Uint8Array(0);

  // Dictionaries: canonical value → entry index, and raw bytes (as latin1 text) → entry index or -1.
  const identityIndex = new Map<string, number>();
  const keyByIdentity = pseudonymCache(params.secret);
  const identityUsed: boolean[] = [];
  const merchantIndex = new Map<string, number>();
  const rawIdentity = new Map<string, number>();
  const rawMerchant = new Map<string, number>();
  const rawDate = new Map<string, string | null>();
  // Per-row counters without a Map update per row: rows per merchant entry (summed into groups at the
  // end, groups in the order of their first valid row) and a count cell per date, cached with its bucket.
  const merchantRows: number[] = [];
  const groupOrder = new Map<string, number>();
  // Dates in the order of their first valid row; a staged row holds its date's index.
  const dates: string[] = [];
  const dateCells = new Map<string, { n: number; index: number }>();
  let dateCell = { n: 0, index: -1 };
  let dateText = '';

  const reject = (line: string, n: number, reason: ReasonCode, detail: string) => {
    out.reasons[reason] = (out.reasons[reason] ?? 0) + 1;
    out.quarantine.push({ source_file: file, source_line: n, reason, detail, raw_line: maskRawLine(line) });
  };

  const identityOf = (t: Omit<IdentityEntry, 'customer_key'>, rawId: string): number => {
    const identity = `${rawId}\u001f${t.account_cohort}\u001f${t.city}\u001f${t.state}\u001f${t.age}\u001f${t.sex}`;
    let idx = identityIndex.get(identity);
    if (idx === undefined) {
      let key = keyByIdentity.get(identity);
      if (key === undefined) {
        key = customerKey(params.secret, {
          id: rawId,
          account_cohort: t.account_cohort,
          city: t.city,
          state: t.state,
          age: t.age,
          sex: t.sex,
        });
        if (keyByIdentity.size >= PSEUDONYM_CACHE_MAX) keyByIdentity.clear();
        keyByIdentity.set(identity, key);
      }
      idx = out.identities.length;
      out.identities.push({
        customer_key: key,
        account_cohort: t.account_cohort,
        city: t.city,
        state: t.state,
        age: t.age,
        sex: t.sex,
      });
      identityUsed.push(false);
      identityIndex.set(identity, idx);
    }
    return idx;
  };
  const merchantOf = (group: string, mcity: string | null, mcountry: string | null): number => {
    const k = `${group}\u001f${mcity ?? '\u0000'}\u001f${mcountry ?? '\u0000'}`;
    let idx = merchantIndex.get(k);
    if (idx === undefined) {
      idx = out.merchants.length;
      out.merchants.push({ merchant_group: group, merchant_city: mcity, merchant_country: mcountry });
      merchantRows.push(0);
      merchantIndex.set(k, idx);
    }
    return idx;
  };

  const accept = (
    date: string,
    identity: number,
    merchant: number,
    credit: number,
    avail: number,
    amount: number | null,
    line: number,
  ) => {
    if (date !== dateText || dateCell.index < 0) {
      dateText = date;
      let cell = dateCells.get(date);
      if (!cell) {
        dateCells.set(date, (cell = { n: 0, index: dates.length }));
        dates.push(date);
      }
      dateCell = cell;
    }
    if (st.length === st.identity.length) growRows(st);
    const i = st.length++;
    st.date[i] = dateCell.index;
    st.identity[i] = identity;
    st.merchant[i] = merchant;
    st.credit_limit[i] = credit;
    st.available_limit[i] = avail;
    st.amount[i] = amount === null ? Number.NaN : amount;
    st.source_line[i] = line;
    if (!identityUsed[identity]) {
      identityUsed[identity] = true;
      const e = out.identities[identity]!;
      if (!out.customers.has(e.customer_key))
        out.customers.set(e.customer_key, { age: e.age, sex: e.sex, city: e.city, state: e.state });
    }
    dateCell.n += 1;
    out.rowsOut += 1;
    if (amount === null) out.nullAmounts += 1;
    const m = out.merchants[merchant]!;
    if (m.merchant_city === null) out.emptyMerchantCity += 1;
    if (m.merchant_country === null) out.emptyMerchantCountry += 1;
    const seen = merchantRows[merchant]!;
    merchantRows[merchant] = seen + 1;
    if (seen === 0 && !groupOrder.has(m.merchant_group)) groupOrder.set(m.merchant_group, 0);
    buffered += 1;
    if (spill && buffered >= spill.maxRows) {
      flushStaging(st, dates, out);
      spill.write(out);
      out.buckets.clear();
      buffered = 0;
    } else if (st.length >= STAGING_MAX_ROWS) flushStaging(st, dates, out);
  };

  // The reference path: the decoded line through parseLine and the whole-row ajv validator.
  const slowLine = (line: string, n: number) => {
    const parsed = parseLine(line, file, n, params);
    if ('reason' in parsed) return reject(line, n, parsed.reason, parsed.detail);
    const t = parsed.txn;
    const identity = identityOf(t, parsed.rawId);
    const txn: Transaction = { ...t, customer_key: out.identities[identity]!.customer_key };
    const invalid = validateTransaction(txn);
    if (invalid) return reject(line, n, invalid.reason, invalid.detail);
    accept(
      t.date,
      identity,
      merchantOf(t.merchant_group, t.merchant_city, t.merchant_country),
      t.credit_limit,
      t.available_limit,
      t.amount,
      n,
    );
  };

  const fieldStart = new Int32Array(FIELDS + 1);
  // Declared once, not per line: a closure made per row would cost an allocation per row.
  const fEnd = (k: number) => fieldStart[k + 1]! - 1;

  // A block of whole lines: each ends with '\n', except a file's last line when it has no line break.
  // Once a file is known to be single-byte, its blocks are checked in the line loop (which reads every
  // byte anyway) instead of a pass of their own; a byte the check refuses sends the block through
  // classifyBlock, which raises the very error it would have raised up front.
  let block: Uint8Array = new Uint8Array(0);
  let blockFirstLine = 1;
  const handleBlock = (bytes: Uint8Array) => {
    block = bytes;
    blockFirstLine = lineNo + 1;
    if (mode !== 'mibolsillo-single-byte') mode = classifyBlock(bytes, mode, { file, firstLine: blockFirstLine });
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const singleByte = mode === 'mibolsillo-single-byte';
    let s = 0;
    const end = buf.length;
    while (s < end) {
      let nl = buf.indexOf(NL, s);
      if (nl < 0) nl = end;
      handleLine(buf, s, nl, singleByte);
      s = nl + 1;
    }
  };

  const handleLine = (buf: Buffer, s: number, nl: number, singleByte: boolean) => {
    lineNo += 1;
    const e = nl > s && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    if (!headerSeen) {
      headerSeen = true;
      checkHeader(decodeRange(buf, s, e, mode), file);
      return;
    }
    if (e === s) return;
    out.rowsIn += 1;
    // One pass over the bytes: field offsets, the duplicate hash, and whether any byte is non-ASCII.
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    let nf = 1;
    let high = false;
    let refused = false;
    fieldStart[0] = s;
    for (let i = s; i < e; i++) {
      let ch = buf[i]!;
      if (ch === SEMI) {
        if (nf < FIELDS) fieldStart[nf] = i + 1;
        nf++;
      } else if (ch >= 0x80) {
        high = true;
        if (singleByte) {
          if (SINGLE_BYTE_OK[ch - 0x80] !== 1) refused = true;
          ch = 0xc7; // 'Ç', the only high byte of the single-byte page
        }
      } else if (ch < 0x20 && ch !== 0x09 && ch !== 0x0d) refused = true;
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    if (refused) classifyBlock(block, mode, { file, firstLine: blockFirstLine }); // throws IngestError
    let hash: number;
    if (high && !singleByte) hash = hashString(buf.toString('utf8', s, e));
    else {
      h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
      h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
      hash = 4294967296 * (2097151 & h2) + (h1 >>> 0);
    }
    if (hashCount === st.hashes.length) {
      const grown = new Float64Array(st.hashes.length * 2);
      grown.set(st.hashes);
      st.hashes = grown;
    }
    st.hashes[hashCount++] = hash;
    if (nf !== FIELDS) return slowLine(decodeRange(buf, s, e, mode), lineNo);
    fieldStart[FIELDS] = e + 1;

    // Identity fields 0..5 (contiguous): decoded, checked, validated and pseudonymised once per raw text.
    const idKey = buf.toString('latin1', s, fEnd(5));
    let identity = rawIdentity.get(idKey);
    if (identity === undefined) {
      const who = parseIdentity(decodeRange(buf, s, fEnd(5), mode).split(';'), params);
      identity = -1;
      if (!('reason' in who)) {
        const idx = identityOf(
          { account_cohort: who.cohort, city: who.city, state: who.state, age: who.age, sex: who.sex },
          who.rawId,
        );
        const t = out.identities[idx]!;
        const valid =
          V.customer_key(t.customer_key) &&
          V.account_cohort(t.account_cohort) &&
          V.city(t.city) &&
          V.state(t.state) &&
          V.age(t.age) &&
          V.sex(t.sex);
        if (valid) identity = idx;
      }
      rawIdentity.set(idKey, identity);
    }
    if (identity < 0) return slowLine(decodeRange(buf, s, e, mode), lineNo);
    const credit = parseIntField(buf, fieldStart[6]!, fEnd(6));
    const avail = parseIntField(buf, fieldStart[7]!, fEnd(7));
    if (credit < 0 || avail < 0 || !V.credit_limit(credit) || !V.available_limit(avail))
      return slowLine(decodeRange(buf, s, e, mode), lineNo);
    const dKey = buf.toString('latin1', fieldStart[8]!, fEnd(8));
    let date = rawDate.get(dKey);
    if (date === undefined) {
      date = parseSourceDate(decodeRange(buf, fieldStart[8]!, fEnd(8), mode).trim());
      if (date !== null && !V.date(date)) date = null;
      rawDate.set(dKey, date);
    }
    if (date === null) return slowLine(decodeRange(buf, s, e, mode), lineNo);
    const amount = parseAmountField(buf, fieldStart[9]!, fEnd(9));
    if (amount === undefined || !V.amount(amount)) return slowLine(decodeRange(buf, s, e, mode), lineNo);
    const mKey = buf.toString('latin1', fieldStart[10]!, e);
    let merchant = rawMerchant.get(mKey);
    if (merchant === undefined) {
      const m = parseMerchant([
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        '',
        ...decodeRange(buf, fieldStart[10]!, e, mode).split(';'),
      ]);
      merchant = -1;
      if (!('reason' in m) && V.merchant_group(m.group) && V.merchant_city(m.mcity) && V.merchant_country(m.mcountry))
        merchant = merchantOf(m.group, m.mcity, m.mcountry);
      rawMerchant.set(mKey, merchant);
    }
    if (merchant < 0 || !txnIdFast || !V.source_line(lineNo)) return slowLine(decodeRange(buf, s, e, mode), lineNo);
    accept(date, identity, merchant, credit, avail, amount, lineNo);
  };

  // A chunk is used only until the next one is asked for (readChunks hands out one reused buffer): the
  // line a chunk ends inside is copied (carry), and the carried line is completed as a block of its own,
  // so no chunk-sized copy is made per chunk.
  for await (const chunk of chunks) {
    out.bytes += chunk.length;
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      carry = concat(carry, chunk);
      if (carry.length > MAX_LINE_BYTES)
        throw new IngestError(`${file}: line ${lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes (not a CSV line)`);
      continue;
    }
    let from = 0;
    if (carry.length > 0) {
      from = chunk.indexOf(NL) + 1;
      handleBlock(concat(carry, chunk.subarray(0, from)));
    }
    if (from <= last) handleBlock(chunk.subarray(from, last + 1));
    carry = chunk.slice(last + 1);
    onProgress?.(out.bytes, out.rowsIn);
  }
  if (carry.length > 0) {
    // A last line without a line break: parse it like any other (a truncated one fails validation).
    handleBlock(carry);
  }
  out.encoding = mode;
  flushStaging(st, dates, out);
  const hashes = st.hashes.slice(0, hashCount).sort();
  // Kept for the thread's next parse, but not a one-pass parse's file-sized hash column.
  if (st.hashes.length > STAGING_MAX_ROWS) st.hashes = new Float64Array(1 << 12);
  spareStaging = st;
  for (const [d, cell] of dateCells) out.dateCounts.set(d, cell.n);
  for (const [m, n] of merchantRows.entries()) {
    const g = out.merchants[m]!.merchant_group;
    if (n > 0) groupOrder.set(g, groupOrder.get(g)! + n);
  }
  for (const [g, n] of groupOrder) out.merchantGroups[g] = n;
  return { parsed: out, hashes, lines: lineNo, headerSeen: options.header && headerSeen };
}

/**
 * The whole-file part of parsing: exact duplicates over all ranges (each range's hashes sorted; a k-way
 * merge counts the values seen before, as one sort of all hashes would), then the file-level failures.
 */
export function finishParse(
  out: ColumnarParsedFile,
  sortedHashes: readonly Float64Array[],
  headerSeen: boolean,
): ColumnarParsedFile {
  out.duplicates = countDuplicates(sortedHashes);
  if (!headerSeen) throw new IngestError(`${out.file}: empty file (no header line)`);
  if (out.rowsOut === 0) {
    const reasons = Object.entries(out.reasons)
      .map(([r, n]) => `${r}: ${n}`)
      .join(', ');
    throw new IngestError(
      `${out.file}: no valid rows (${out.rowsIn} data rows${reasons ? `; quarantined ${reasons}` : ''})`,
    );
  }
  return out;
}

// Values equal to an earlier value, over several sorted lists (= total minus distinct values): a k-way
// merge through a binary min-heap of the lists' heads, O(n log k) (a linear scan of the heads costs O(n k),
// seconds for a large file cut into dozens of ranges).
function countDuplicates(lists: readonly Float64Array[]): number {
  const live = lists.filter((l) => l.length > 0);
  if (live.length === 1) {
    const l = live[0]!;
    let d = 0;
    for (let i = 1; i < l.length; i++) if (l[i] === l[i - 1]) d += 1;
    return d;
  }
  // The heap holds each live list's head value (hv) and the list's index (hl); hv[0] is the smallest head.
  let size = live.length;
  const hv = new Float64Array(size);
  const hl = new Int32Array(size);
  const at = new Int32Array(size); // position of each list's head
  const siftDown = (v: number, l: number) => {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= size) break;
      if (c + 1 < size && hv[c + 1]! < hv[c]!) c += 1;
      if (hv[c]! >= v) break;
      hv[i] = hv[c]!;
      hl[i] = hl[c]!;
      i = c;
    }
    hv[i] = v;
    hl[i] = l;
  };
  // Heapify by insertion (k is small).
  for (let k = 0; k < size; k++) {
    let i = k;
    const v = live[k]![0]!;
    while (i > 0 && hv[(i - 1) >> 1]! > v) {
      hv[i] = hv[(i - 1) >> 1]!;
      hl[i] = hl[(i - 1) >> 1]!;
      i = (i - 1) >> 1;
    }
    hv[i] = v;
    hl[i] = k;
  }
  let total = 0;
  let distinct = 0;
  let previous = Number.NaN;
  while (size > 0) {
    const k = hl[0]!;
    const v = hv[0]!;
    total += 1;
    if (v !== previous) distinct += 1;
    previous = v;
    const list = live[k]!;
    const next = ++at[k]!;
    if (next < list.length) siftDown(list[next]!, k);
    else {
      size -= 1;
      if (size > 0) siftDown(hv[size]!, hl[size]!);
    }
  }
  return total - distinct;
}

// A property schema that any string satisfies (annotations only): its check cannot depend on the row.
function anyString(schema: unknown): boolean {
  const s = schema as Record<string, unknown>;
  return s.type === 'string' && Object.keys(s).every((k) => ['type', 'description', 'title', 'examples'].includes(k));
}

/**
 * The bytes `[start, end)` of a file in chunks of `chunkBytes`, all read into one reused buffer: a chunk is
 * valid until the next one is asked for (what {@link parseRangeColumnar} needs). Unlike a read stream, a
 * parse of a large file then allocates no buffer per chunk (less garbage, less heap fragmentation).
 */
export async function* readChunks(
  filePath: string,
  chunkBytes: number,
  start = 0,
  end = Number.POSITIVE_INFINITY,
): AsyncGenerator<Uint8Array> {
  const handle = await fs.promises.open(filePath, 'r');
  try {
    const stop = Math.min(end, (await handle.stat()).size);
    // A plain Uint8Array (not a Buffer, whose slice() is a view): the parser copies what it keeps with slice().
    const buf = new Uint8Array(Math.max(1, Math.min(chunkBytes, stop - start)));
    for (let at = start; at < stop;) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, stop - at), at);
      if (bytesRead <= 0) break;
      at += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b.slice();
  const c = new Uint8Array(a.length + b.length);
  c.set(a, 0);
  c.set(b, a.length);
  return c;
}
