import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { SourceEncoding } from './dialect';
import { isAlive } from './ingest-workers';
import type { ParseParams } from './parse-file';
import { emptyParsedFile, finishParse, parseRangeColumnar, type ColumnarBucket, type ColumnarParsedFile, type IdentityEntry, type MerchantEntry, type RangeResult } from './parse-fast';

/** A byte range `[start, end)` of a file made of whole lines. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Split a file of `size` bytes into at most `count` ranges of whole lines: each cut sits right after a
 * line break at or after an even split point. A line break byte (0x0a) never occurs inside a UTF-8
 * multi-byte character or a field of the dialect (no quoting), so a cut never splits a value.
 */
export function splitRanges(fd: number, size: number, count: number): ByteRange[] {
  const cuts = [0];
  const window = Buffer.alloc(64 << 10);
  for (let k = 1; k < count; k++) {
    // Search from the byte before the split point, so a point just after a line break is itself a cut.
    let at = Math.max(cuts[cuts.length - 1]!, Math.floor((k * size) / count) - 1);
    let cut = size;
    while (at < size) {
      const n = fs.readSync(fd, window, 0, window.length, at);
      if (n <= 0) break;
      const nl = window.subarray(0, n).indexOf(0x0a);
      if (nl >= 0) {
        cut = at + nl + 1;
        break;
      }
      at += n;
    }
    if (cut > cuts[cuts.length - 1]! && cut < size) cuts.push(cut);
  }
  cuts.push(size);
  return cuts.slice(1).map((end, i) => ({ start: cuts[i]!, end }));
}

/**
 * Merge the results of consecutive ranges of one file into exactly what parsing the file in one pass
 * gives: line numbers shifted by the lines before each range; identity and merchant dictionaries merged
 * (an entry is identified by its content, which is all the output depends on) and bucket indices remapped;
 * counts added; maps and objects filled in range order, so their first-seen order is the one-pass order;
 * buckets of a date concatenated in range order (rows stay in line order). Range buckets are released date
 * by date, so merging needs little more memory than the ranges hold. Returns null when the ranges disagree
 * on the encoding (UTF-8 in one, the single-byte page in another: the one-pass parse fails such a file).
 */
export function mergeRanges(file: string, ranges: readonly RangeResult[]): ColumnarParsedFile | null {
  const modes = new Set(ranges.map((r) => r.parsed.encoding).filter((m) => m !== 'ascii'));
  if (modes.size > 1) return null;
  const out = emptyParsedFile(file, ([...modes][0] ?? 'ascii') as SourceEncoding);
  const identityIndex = new Map<string, number>();
  const merchantIndex = new Map<string, number>();
  const identityKey = (e: IdentityEntry) => `${e.customer_key}\u001f${e.account_cohort}\u001f${e.city}\u001f${e.state}\u001f${e.age}\u001f${e.sex}`;
  const merchantKey = (e: MerchantEntry) => `${e.merchant_group}\u001f${e.merchant_city ?? '\u0000'}\u001f${e.merchant_country ?? '\u0000'}`;
  const remapIdentity: Int32Array[] = [];
  const remapMerchant: Int32Array[] = [];
  const base: number[] = [];
  let lines = 0;
  for (const r of ranges) {
    const p = r.parsed;
    base.push(lines);
    lines += r.lines;
    out.bytes += p.bytes;
    out.rowsIn += p.rowsIn;
    out.rowsOut += p.rowsOut;
    out.nullAmounts += p.nullAmounts;
    out.emptyMerchantCity += p.emptyMerchantCity;
    out.emptyMerchantCountry += p.emptyMerchantCountry;
    for (const [k, n] of Object.entries(p.reasons)) out.reasons[k] = (out.reasons[k] ?? 0) + n;
    const shift = base[base.length - 1]!;
    for (const q of p.quarantine) out.quarantine.push(shift === 0 ? q : { ...q, source_line: q.source_line + shift });
    for (const [d, n] of p.dateCounts) out.dateCounts.set(d, (out.dateCounts.get(d) ?? 0) + n);
    for (const [k, q] of p.customers) if (!out.customers.has(k)) out.customers.set(k, q);
    for (const [g, n] of Object.entries(p.merchantGroups)) out.merchantGroups[g] = (out.merchantGroups[g] ?? 0) + n;
    remapIdentity.push(
      Int32Array.from(p.identities, (e) => {
        const k = identityKey(e);
        let i = identityIndex.get(k);
        if (i === undefined) {
          i = out.identities.length;
          out.identities.push(e);
          identityIndex.set(k, i);
        }
        return i;
      }),
    );
    remapMerchant.push(
      Int32Array.from(p.merchants, (e) => {
        const k = merchantKey(e);
        let i = merchantIndex.get(k);
        if (i === undefined) {
          i = out.merchants.length;
          out.merchants.push(e);
          merchantIndex.set(k, i);
        }
        return i;
      }),
    );
  }
  for (const [first, r] of ranges.entries()) {
    for (const date of [...r.parsed.buckets.keys()]) {
      if (out.buckets.has(date)) continue;
      let length = 0;
      for (let k = first; k < ranges.length; k++) length += ranges[k]!.parsed.buckets.get(date)?.length ?? 0;
      const merged: ColumnarBucket = {
        length,
        identity: new Int32Array(length),
        merchant: new Int32Array(length),
        credit_limit: new Int32Array(length),
        available_limit: new Int32Array(length),
        amount: new Float64Array(length),
        source_line: new Int32Array(length),
      };
      let at = 0;
      for (let k = first; k < ranges.length; k++) {
        const b = ranges[k]!.parsed.buckets.get(date);
        if (!b) continue;
        const n = b.length;
        const ids = remapIdentity[k]!;
        const ms = remapMerchant[k]!;
        const shift = base[k]!;
        for (let i = 0; i < n; i++) {
          merged.identity[at + i] = ids[b.identity[i]!]!;
          merged.merchant[at + i] = ms[b.merchant[i]!]!;
          merged.source_line[at + i] = b.source_line[i]! + shift;
        }
        merged.credit_limit.set(b.credit_limit.subarray(0, n), at);
        merged.available_limit.set(b.available_limit.subarray(0, n), at);
        merged.amount.set(b.amount.subarray(0, n), at);
        at += n;
        ranges[k]!.parsed.buckets.delete(date);
      }
      out.buckets.set(date, merged);
    }
  }
  return finishParse(
    out,
    ranges.map((r) => r.hashes),
    ranges[0]?.headerSeen ?? false,
  );
}

/** Options of {@link parseFileParallel}. */
export interface ParallelOptions {
  /** Worker threads (from startIngestWorkers) parsing beside the main thread, which parses too. */
  readonly workers: readonly Worker[];
  /** Ranges to split the file into (more ranges than threads balance uneven progress). */
  readonly ranges: number;
  readonly chunkBytes: number;
  /** Give up (return null) once more valid rows than this are held: the caller then parses with spilling. */
  readonly maxRows: number;
  readonly onProgress?: (bytes: number, rows: number) => void;
}

/**
 * Parse one file on several threads: the file is cut into ranges of whole lines ({@link splitRanges}),
 * the main thread and `workers` worker threads take ranges in turn, and {@link mergeRanges} joins the
 * results, which equal the one-pass {@link parseFileColumnar} result (tested). Returns null when the
 * one-pass parse must decide instead: any range failed (the one-pass parse then raises the exact error
 * with its line numbers), the ranges disagree on the encoding, or the rows outgrow `maxRows`.
 */
export async function parseFileParallel(filePath: string, file: string, params: ParseParams, options: ParallelOptions): Promise<ColumnarParsedFile | null> {
  const size = fs.statSync(filePath).size;
  const fd = fs.openSync(filePath, 'r');
  let ranges: ByteRange[];
  try {
    ranges = splitRanges(fd, size, Math.max(1, options.ranges));
  } finally {
    fs.closeSync(fd);
  }
  const results: RangeResult[] = new Array(ranges.length);
  const pool = new RangeWorkers(options.workers.slice(0, ranges.length - 1));
  let next = 0;
  let failed = false;
  let bytesDone = 0;
  let rowsDone = 0;
  let held = 0;
  const done = (i: number, r: RangeResult) => {
    results[i] = r;
    bytesDone += r.parsed.bytes;
    rowsDone += r.parsed.rowsIn;
    held += r.parsed.rowsOut;
    if (held > options.maxRows) failed = true;
    options.onProgress?.(bytesDone, rowsDone);
  };
  const run = async (parse: (range: ByteRange, header: boolean) => Promise<RangeResult>) => {
    while (!failed && next < ranges.length) {
      const i = next++;
      try {
        done(i, await parse(ranges[i]!, i === 0));
      } catch {
        failed = true;
      }
    }
  };
  try {
    await Promise.all([
      run((range, header) =>
        parseRangeColumnar(file, fs.createReadStream(filePath, { start: range.start, end: range.end - 1, highWaterMark: options.chunkBytes }), params, { header }),
      ),
      ...pool.workers.map((w) => run((range, header) => pool.parse(w, { filePath, file, params, range, header, chunkBytes: options.chunkBytes }))),
    ]);
  } finally {
    pool.close();
  }
  if (failed) return null;
  try {
    return mergeRanges(file, results);
  } catch {
    return null;
  }
}

/** One range job for a worker. */
export interface RangeJob {
  readonly filePath: string;
  readonly file: string;
  readonly params: ParseParams;
  readonly range: ByteRange;
  readonly header: boolean;
  readonly chunkBytes: number;
}

/** What the worker does with one job (exported for the worker entry): the range result, trimmed for transfer. */
export async function parseRangeJob(job: RangeJob): Promise<{ result: RangeResult; transfer: ArrayBuffer[] }> {
  const stream = fs.createReadStream(job.filePath, { start: job.range.start, end: job.range.end - 1, highWaterMark: job.chunkBytes });
  const r = await parseRangeColumnar(job.file, stream, job.params, { header: job.header });
  const transfer: ArrayBuffer[] = [];
  // Exact-length copies: the growth slack stays behind, and each buffer moves to the main thread without a copy.
  const own = <T extends Int32Array | Float64Array>(a: T, n: number): T => {
    const c = a.slice(0, n) as T;
    transfer.push(c.buffer as ArrayBuffer);
    return c;
  };
  for (const b of r.parsed.buckets.values()) {
    const n = b.length;
    b.identity = own(b.identity, n);
    b.merchant = own(b.merchant, n);
    b.credit_limit = own(b.credit_limit, n);
    b.available_limit = own(b.available_limit, n);
    b.amount = own(b.amount, n);
    b.source_line = own(b.source_line, n);
  }
  const hashes = own(r.hashes, r.hashes.length);
  return { result: { ...r, hashes }, transfer };
}

// Range jobs on shared ingest workers (startIngestWorkers), one job at a time each; the owner stops them.
class RangeWorkers {
  readonly workers: Worker[];
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: RangeResult) => void; reject: (e: Error) => void }>();
  private readonly onMessage = (m: { kind?: string; id: number; result?: RangeResult; error?: string }) => {
    if (m.kind !== 'range') return; // another job kind on a shared worker
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.result) p.resolve(m.result);
    else p.reject(new Error(`parse worker: ${m.error}`));
  };
  private readonly onFailure = (e: unknown) => {
    for (const p of this.pending.values()) p.reject(e instanceof Error ? e : new Error('parse worker exited'));
    this.pending.clear();
  };

  constructor(workers: readonly Worker[]) {
    this.workers = workers.filter(isAlive);
    for (const w of this.workers) {
      w.on('message', this.onMessage);
      w.on('error', this.onFailure);
      w.on('exit', this.onFailure);
    }
  }

  parse(worker: Worker, job: RangeJob): Promise<RangeResult> {
    const id = this.seq++;
    return new Promise<RangeResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, job });
    });
  }

  close(): void {
    for (const w of this.workers) {
      w.off('message', this.onMessage);
      w.off('error', this.onFailure);
      w.off('exit', this.onFailure);
    }
  }
}
