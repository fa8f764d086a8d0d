import fs from 'node:fs';
import {
  CYRB53_SEED_1,
  CYRB53_SEED_2,
  customerKey,
  cyrb53,
  cyrb53Finish,
  cyrb53Lane1,
  cyrb53Lane2,
} from '@bolsillo/core';
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
import { parseAmountField, parseIntField } from './byte-fields';
import { emptyParseSummary, type ParseParams, type ParseSummary } from './parse-file';
import { STAGING_MAX_ROWS, flushStaging, growRows, releaseStaging, takeStaging, type Staging } from './range-staging';

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
const V = FIELD_VALIDATORS;
// The hash steps run for every byte of every line: held in module constants rather than read from
// core's exports at each call (docs/bench-ingest.md).
const lane1 = cyrb53Lane1;
const lane2 = cyrb53Lane2;

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
  const parser = new RangeParser(file, params, options);
  // A chunk is used only until the next one is asked for (readChunks hands out one reused buffer): the
  // line a chunk ends inside is copied (carry), and the carried line is completed as a block of its own,
  // so no chunk-sized copy is made per chunk.
  let carry: Uint8Array = new Uint8Array(0);
  for await (const chunk of chunks) {
    parser.out.bytes += chunk.length;
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      carry = concat(carry, chunk);
      if (carry.length > MAX_LINE_BYTES)
        throw new IngestError(
          `${file}: line ${parser.lineNo + 1} is longer than ${MAX_LINE_BYTES} bytes (not a CSV line)`,
        );
      continue;
    }
    let from = 0;
    if (carry.length > 0) {
      from = chunk.indexOf(NL) + 1;
      parser.parseBlock(concat(carry, chunk.subarray(0, from)));
    }
    if (from <= last) parser.parseBlock(chunk.subarray(from, last + 1));
    carry = chunk.slice(last + 1);
    options.onProgress?.(parser.out.bytes, parser.out.rowsIn);
  }
  // A last line without a line break: parse it like any other (a truncated one fails validation).
  if (carry.length > 0) parser.parseBlock(carry);
  return parser.finish();
}

/**
 * The lines of one range, one at a time: the header checked, each data line scanned once
 * ({@link LineScan}), then decided on its bytes ({@link RangeParser.fastRow}) or, when the byte path cannot
 * decide, through the string reference (`parseLine` and the whole-row validator).
 */
class RangeParser {
  readonly out: ColumnarParsedFile;
  /** Lines seen so far, empty ones included: the current line's number within the range. */
  lineNo = 0;
  private readonly dicts: RangeDictionaries;
  private readonly rows: RangeRows;
  private readonly line = new LineScan();
  // txn_id and source_file are the same for every row of a file but their type: checked once per file
  // unless the schema constrains them further (then per row, on the string path).
  private readonly txnIdFast: boolean;
  private mode: SourceEncoding = 'ascii';
  private headerSeen: boolean;
  private block: Uint8Array = new Uint8Array(0);
  private blockFirstLine = 1;

  constructor(
    private readonly file: string,
    private readonly params: ParseParams,
    private readonly options: RangeOptions,
  ) {
    this.out = emptyParsedFile(file, 'ascii');
    this.dicts = new RangeDictionaries(this.out, params);
    this.rows = new RangeRows(this.out, this.dicts, options.spill);
    this.txnIdFast = anyString(TransactionSchema.properties.txn_id) && V.txn_id(`${file}#1`) && V.source_file(file);
    this.headerSeen = !options.header;
  }

  /**
   * A block of whole lines: each ends with '\n', except a file's last line when it has no line break.
   * Once a file is known to be single-byte, its blocks are checked in the line scan (which reads every
   * byte anyway) instead of a pass of their own; a byte the scan refuses sends the block through
   * classifyBlock, which raises the very error it would have raised up front.
   */
  parseBlock(bytes: Uint8Array): void {
    this.block = bytes;
    this.blockFirstLine = this.lineNo + 1;
    if (this.mode !== 'mibolsillo-single-byte')
      this.mode = classifyBlock(bytes, this.mode, { file: this.file, firstLine: this.blockFirstLine });
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    const singleByte = this.mode === 'mibolsillo-single-byte';
    let s = 0;
    const end = buf.length;
    while (s < end) {
      let nl = buf.indexOf(NL, s);
      if (nl < 0) nl = end;
      this.parseLine(buf, s, nl, singleByte);
      s = nl + 1;
    }
  }

  /** The range's rows, counts and sorted hashes once every block is parsed. */
  finish(): RangeResult {
    this.out.encoding = this.mode;
    const hashes = this.rows.finish();
    return { parsed: this.out, hashes, lines: this.lineNo, headerSeen: this.options.header && this.headerSeen };
  }

  private parseLine(buf: Buffer, s: number, nl: number, singleByte: boolean): void {
    this.lineNo += 1;
    const e = nl > s && buf[nl - 1] === 0x0d ? nl - 1 : nl;
    if (!this.headerSeen) {
      this.headerSeen = true;
      checkHeader(decodeRange(buf, s, e, this.mode), this.file);
      return;
    }
    if (e === s) return;
    this.out.rowsIn += 1;
    const line = this.line;
    line.scan(buf, s, e, singleByte);
    if (line.refused) classifyBlock(this.block, this.mode, { file: this.file, firstLine: this.blockFirstLine }); // throws IngestError
    this.rows.addHash(line.hash(buf, s, e, singleByte));
    if (!this.fastRow(buf, s, e)) this.slowRow(decodeRange(buf, s, e, this.mode), this.lineNo);
  }

  /**
   * The byte path of a scanned data line: the identity fields, the date and the merchant fields through
   * caches of their raw text, limits and amount from their digits. False when it cannot decide the row
   * (any rejection, a value it does not parse): the caller then takes the string path, which decides exactly.
   */
  private fastRow(buf: Buffer, s: number, e: number): boolean {
    const line = this.line;
    if (line.fields !== FIELDS) return false;
    const start = line.fieldStart;
    start[FIELDS] = e + 1;
    const mode = this.mode;
    const identity = this.dicts.identityFromBytes(buf, s, line.end(5), mode);
    if (identity < 0) return false;
    const credit = parseIntField(buf, start[6]!, line.end(6));
    const avail = parseIntField(buf, start[7]!, line.end(7));
    if (credit < 0 || avail < 0 || !V.credit_limit(credit) || !V.available_limit(avail)) return false;
    const date = this.dicts.dateFromBytes(buf, start[8]!, line.end(8), mode);
    if (date === null) return false;
    const amount = parseAmountField(buf, start[9]!, line.end(9));
    if (amount === undefined || !V.amount(amount)) return false;
    const merchant = this.dicts.merchantFromBytes(buf, start[10]!, e, mode);
    if (merchant < 0 || !this.txnIdFast || !V.source_line(this.lineNo)) return false;
    this.rows.accept(date, identity, merchant, credit, avail, amount, this.lineNo);
    return true;
  }

  /** The reference path: the decoded line through parseLine and the whole-row ajv validator. */
  private slowRow(text: string, n: number): void {
    const parsed = parseLine(text, this.file, n, this.params);
    if ('reason' in parsed) return this.reject(text, n, parsed.reason, parsed.detail);
    const t = parsed.txn;
    const identity = this.dicts.identityOf(t, parsed.rawId);
    const txn: Transaction = { ...t, customer_key: this.out.identities[identity]!.customer_key };
    const invalid = validateTransaction(txn);
    if (invalid) return this.reject(text, n, invalid.reason, invalid.detail);
    const merchant = this.dicts.merchantOf(t.merchant_group, t.merchant_city, t.merchant_country);
    this.rows.accept(t.date, identity, merchant, t.credit_limit, t.available_limit, t.amount, n);
  }

  private reject(text: string, n: number, reason: ReasonCode, detail: string): void {
    const out = this.out;
    out.reasons[reason] = (out.reasons[reason] ?? 0) + 1;
    out.quarantine.push({ source_file: this.file, source_line: n, reason, detail, raw_line: maskRawLine(text) });
  }
}

/**
 * One pass over a data line's bytes: where each field starts, whether a byte is non-ASCII or not allowed,
 * and the line's duplicate hash (cyrb53 of the decoded text, fed byte by byte where a byte is a character).
 */
class LineScan {
  /** Start of each field; past the last, the line's end + 1 (set by the byte path). */
  readonly fieldStart = new Int32Array(FIELDS + 1);
  /** Fields found (separators + 1). */
  fields = 0;
  /** Some byte is not ASCII. */
  high = false;
  /** Some byte is not allowed: a control byte, or a high byte the single-byte page does not have. */
  refused = false;
  private h1 = 0;
  private h2 = 0;

  scan(buf: Buffer, s: number, e: number, singleByte: boolean): void {
    const fieldStart = this.fieldStart;
    let h1 = CYRB53_SEED_1;
    let h2 = CYRB53_SEED_2;
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
      h1 = lane1(h1, ch);
      h2 = lane2(h2, ch);
    }
    this.fields = nf;
    this.high = high;
    this.refused = refused;
    this.h1 = h1;
    this.h2 = h2;
  }

  /** The scanned line's hash: from its bytes, or from its UTF-8 text when a character spans several bytes. */
  hash(buf: Buffer, s: number, e: number, singleByte: boolean): number {
    if (this.high && !singleByte) return cyrb53(buf.toString('utf8', s, e));
    return cyrb53Finish(this.h1, this.h2);
  }

  /** The end of field `k` (its separator's offset). */
  end(k: number): number {
    return this.fieldStart[k + 1]! - 1;
  }
}

/**
 * The identities and merchants a parse has met (entries of its output, in order of first sight), and the
 * caches that decode, check, validate and pseudonymise each distinct raw text of the identity, date and
 * merchant fields once.
 */
class RangeDictionaries {
  /** Per identity entry: whether a valid row has used it yet. */
  readonly identityUsed: boolean[] = [];
  /** Valid rows per merchant entry (summed into groups at the end, without a Map update per row). */
  readonly merchantRows: number[] = [];
  private readonly identityIndex = new Map<string, number>();
  private readonly merchantIndex = new Map<string, number>();
  // Raw bytes (as latin1 text) → entry index, or -1 / null when the byte path cannot take the value.
  private readonly rawIdentity = new Map<string, number>();
  private readonly rawMerchant = new Map<string, number>();
  private readonly rawDate = new Map<string, string | null>();
  private readonly pseudonyms: Map<string, string>;

  constructor(
    private readonly out: ColumnarParsedFile,
    private readonly params: ParseParams,
  ) {
    this.pseudonyms = pseudonymCache(params.secret);
  }

  /** The entry of an identity (its customer key computed once per distinct identity and thread). */
  identityOf(t: Omit<IdentityEntry, 'customer_key'>, rawId: string): number {
    const identity = `${rawId}\u001f${t.account_cohort}\u001f${t.city}\u001f${t.state}\u001f${t.age}\u001f${t.sex}`;
    let idx = this.identityIndex.get(identity);
    if (idx === undefined) {
      let key = this.pseudonyms.get(identity);
      if (key === undefined) {
        key = customerKey(this.params.secret, {
          id: rawId,
          account_cohort: t.account_cohort,
          city: t.city,
          state: t.state,
          age: t.age,
          sex: t.sex,
        });
        if (this.pseudonyms.size >= PSEUDONYM_CACHE_MAX) this.pseudonyms.clear();
        this.pseudonyms.set(identity, key);
      }
      idx = this.out.identities.length;
      this.out.identities.push({
        customer_key: key,
        account_cohort: t.account_cohort,
        city: t.city,
        state: t.state,
        age: t.age,
        sex: t.sex,
      });
      this.identityUsed.push(false);
      this.identityIndex.set(identity, idx);
    }
    return idx;
  }

  /** The entry of a (merchant group, city, country) triple. */
  merchantOf(group: string, mcity: string | null, mcountry: string | null): number {
    const k = `${group}\u001f${mcity ?? '\u0000'}\u001f${mcountry ?? '\u0000'}`;
    let idx = this.merchantIndex.get(k);
    if (idx === undefined) {
      idx = this.out.merchants.length;
      this.out.merchants.push({ merchant_group: group, merchant_city: mcity, merchant_country: mcountry });
      this.merchantRows.push(0);
      this.merchantIndex.set(k, idx);
    }
    return idx;
  }

  /** The identity entry of the six identity fields (bytes `s..e`), or -1 when they are not valid as they are. */
  identityFromBytes(buf: Buffer, s: number, e: number, mode: SourceEncoding): number {
    const raw = buf.toString('latin1', s, e);
    let identity = this.rawIdentity.get(raw);
    if (identity === undefined) {
      const who = parseIdentity(decodeRange(buf, s, e, mode).split(';'), this.params);
      identity = -1;
      if (!('reason' in who)) {
        const idx = this.identityOf(
          { account_cohort: who.cohort, city: who.city, state: who.state, age: who.age, sex: who.sex },
          who.rawId,
        );
        const t = this.out.identities[idx]!;
        const valid =
          V.customer_key(t.customer_key) &&
          V.account_cohort(t.account_cohort) &&
          V.city(t.city) &&
          V.state(t.state) &&
          V.age(t.age) &&
          V.sex(t.sex);
        if (valid) identity = idx;
      }
      this.rawIdentity.set(raw, identity);
    }
    return identity;
  }

  /** The ISO date of the date field (bytes `s..e`), or null when it is not a valid date as it is. */
  dateFromBytes(buf: Buffer, s: number, e: number, mode: SourceEncoding): string | null {
    const raw = buf.toString('latin1', s, e);
    let date = this.rawDate.get(raw);
    if (date === undefined) {
      date = parseSourceDate(decodeRange(buf, s, e, mode).trim());
      if (date !== null && !V.date(date)) date = null;
      this.rawDate.set(raw, date);
    }
    return date;
  }

  /** The merchant entry of the last three fields (bytes `s..e`), or -1 when they are not valid as they are. */
  merchantFromBytes(buf: Buffer, s: number, e: number, mode: SourceEncoding): number {
    const raw = buf.toString('latin1', s, e);
    let merchant = this.rawMerchant.get(raw);
    if (merchant === undefined) {
      const m = parseMerchant([...IDENTITY_AND_ROW_FIELDS, ...decodeRange(buf, s, e, mode).split(';')]);
      merchant = -1;
      if (!('reason' in m) && V.merchant_group(m.group) && V.merchant_city(m.mcity) && V.merchant_country(m.mcountry))
        merchant = this.merchantOf(m.group, m.mcity, m.mcountry);
      this.rawMerchant.set(raw, merchant);
    }
    return merchant;
  }
}

// parseMerchant reads the merchant fields at their positions in a whole row: the ten before them are unused.
const IDENTITY_AND_ROW_FIELDS: readonly string[] = Array.from({ length: 10 }, () => '');

/**
 * The valid rows of a parse, staged in line order with the counts the summary needs (rows per date, per
 * merchant group, null amounts, empty merchant places, customers), then moved into date buckets or
 * spilled; and the duplicate hash of every data line.
 */
class RangeRows {
  private readonly st: Staging = takeStaging();
  private hashCount = 0;
  private buffered = 0;
  // Dates in the order of their first valid row; a staged row holds its date's index. A count cell per
  // date, cached with the last row's date (rows of a date come in runs).
  private readonly dates: string[] = [];
  private readonly dateCells = new Map<string, { n: number; index: number }>();
  private dateCell = { n: 0, index: -1 };
  private dateText = '';
  // Merchant groups in the order of their first valid row.
  private readonly groupOrder = new Map<string, number>();

  constructor(
    private readonly out: ColumnarParsedFile,
    private readonly dicts: RangeDictionaries,
    private readonly spill: ColumnarSpillSink | undefined,
  ) {}

  /** Record a data line's duplicate hash. */
  addHash(hash: number): void {
    const st = this.st;
    if (this.hashCount === st.hashes.length) {
      const grown = new Float64Array(st.hashes.length * 2);
      grown.set(st.hashes);
      st.hashes = grown;
    }
    st.hashes[this.hashCount++] = hash;
  }

  /** Stage a valid row and count it. */
  accept(
    date: string,
    identity: number,
    merchant: number,
    credit: number,
    avail: number,
    amount: number | null,
    line: number,
  ): void {
    const { st, out, dicts } = this;
    if (date !== this.dateText || this.dateCell.index < 0) this.enterDate(date);
    if (st.length === st.identity.length) growRows(st);
    const i = st.length++;
    st.date[i] = this.dateCell.index;
    st.identity[i] = identity;
    st.merchant[i] = merchant;
    st.credit_limit[i] = credit;
    st.available_limit[i] = avail;
    st.amount[i] = amount === null ? Number.NaN : amount;
    st.source_line[i] = line;
    if (!dicts.identityUsed[identity]) {
      dicts.identityUsed[identity] = true;
      const e = out.identities[identity]!;
      if (!out.customers.has(e.customer_key))
        out.customers.set(e.customer_key, { age: e.age, sex: e.sex, city: e.city, state: e.state });
    }
    this.dateCell.n += 1;
    out.rowsOut += 1;
    if (amount === null) out.nullAmounts += 1;
    const m = out.merchants[merchant]!;
    if (m.merchant_city === null) out.emptyMerchantCity += 1;
    if (m.merchant_country === null) out.emptyMerchantCountry += 1;
    const seen = dicts.merchantRows[merchant]!;
    dicts.merchantRows[merchant] = seen + 1;
    if (seen === 0 && !this.groupOrder.has(m.merchant_group)) this.groupOrder.set(m.merchant_group, 0);
    this.buffered += 1;
    const spill = this.spill;
    if (spill && this.buffered >= spill.maxRows) {
      flushStaging(st, this.dates, out);
      spill.write(out);
      out.buckets.clear();
      this.buffered = 0;
    } else if (st.length >= STAGING_MAX_ROWS) flushStaging(st, this.dates, out);
  }

  /** Move the staged rows into date buckets, record rows per date and per merchant group; the sorted hashes. */
  finish(): Float64Array {
    const { st, out } = this;
    flushStaging(st, this.dates, out);
    const hashes = st.hashes.slice(0, this.hashCount).sort();
    releaseStaging(st);
    for (const [d, cell] of this.dateCells) out.dateCounts.set(d, cell.n);
    for (const [m, n] of this.dicts.merchantRows.entries()) {
      const g = out.merchants[m]!.merchant_group;
      if (n > 0) this.groupOrder.set(g, this.groupOrder.get(g)! + n);
    }
    for (const [g, n] of this.groupOrder) out.merchantGroups[g] = n;
    return hashes;
  }

  private enterDate(date: string): void {
    this.dateText = date;
    let cell = this.dateCells.get(date);
    if (!cell) {
      this.dateCells.set(date, (cell = { n: 0, index: this.dates.length }));
      this.dates.push(date);
    }
    this.dateCell = cell;
  }
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
