import fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { WorkerChannel, isWorkerAlive } from '@bolsillo/core';
import { INGEST_CHANNELS } from './ingest-workers';
import type { ParseParams } from './parse-file';
import {
  emptyParsedFile,
  finishParse,
  parseRangeColumnar,
  readChunks,
  type ColumnarParsedFile,
  type ColumnarSpillSink,
  type RangeResult,
} from './parse-fast';

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
 * Merges the results of consecutive ranges of one file, fed in range order as they are parsed, into exactly
 * what parsing the file in one pass gives: line numbers shifted by the lines before each range; identity
 * and merchant dictionaries merged (an entry is identified by its content, which is all the output depends
 * on); counts added; maps and objects filled in range order, so their first-seen order is the one-pass
 * order; a date's rows are the parts of the ranges that held it, in range order (rows stay in line order).
 * A range's columns are remapped in place and become the output's parts: merging copies no rows, and a
 * range's dictionaries are released as soon as it is merged, so the merge holds little beyond the rows.
 */
export class RangeMerger {
  private readonly out: ColumnarParsedFile;
  private readonly identityIndex = new Map<string, number>();
  private readonly merchantIndex = new Map<string, number>();
  private readonly hashes: Float64Array[] = [];
  private lines = 0;
  private ranges = 0;
  // Valid rows merged since the last spill.
  private held = 0;
  private headerSeen = false;
  private mixed = false;

  constructor(file: string) {
    this.out = emptyParsedFile(file, 'ascii');
  }

  /** Merge the next range's result (ranges in file order); its buckets become the output's parts. */
  add(r: RangeResult): void {
    const p = r.parsed;
    const out = this.out;
    if (this.ranges++ === 0) this.headerSeen = r.headerSeen;
    if (p.encoding !== 'ascii') {
      if (out.encoding === 'ascii') out.encoding = p.encoding;
      else if (out.encoding !== p.encoding) this.mixed = true;
    }
    const shift = this.lines;
    this.lines += r.lines;
    this.hashes.push(r.hashes);
    out.bytes += p.bytes;
    out.rowsIn += p.rowsIn;
    out.rowsOut += p.rowsOut;
    this.held += p.rowsOut;
    out.nullAmounts += p.nullAmounts;
    out.emptyMerchantCity += p.emptyMerchantCity;
    out.emptyMerchantCountry += p.emptyMerchantCountry;
    for (const [k, n] of Object.entries(p.reasons)) out.reasons[k] = (out.reasons[k] ?? 0) + n;
    for (const q of p.quarantine) out.quarantine.push(shift === 0 ? q : { ...q, source_line: q.source_line + shift });
    for (const [d, n] of p.dateCounts) out.dateCounts.set(d, (out.dateCounts.get(d) ?? 0) + n);
    for (const [k, q] of p.customers) if (!out.customers.has(k)) out.customers.set(k, q);
    for (const [g, n] of Object.entries(p.merchantGroups)) out.merchantGroups[g] = (out.merchantGroups[g] ?? 0) + n;
    const ids = remap(
      p.identities,
      out.identities,
      this.identityIndex,
      (e) => `${e.customer_key}\u001f${e.account_cohort}\u001f${e.city}\u001f${e.state}\u001f${e.age}\u001f${e.sex}`,
    );
    const ms = remap(
      p.merchants,
      out.merchants,
      this.merchantIndex,
      (e) => `${e.merchant_group}\u001f${e.merchant_city ?? '\u0000'}\u001f${e.merchant_country ?? '\u0000'}`,
    );
    for (const [date, parts] of p.buckets) {
      for (const b of parts) {
        const n = b.length;
        const identity = b.identity;
        const merchant = b.merchant;
        const line = b.source_line;
        for (let i = 0; i < n; i++) {
          identity[i] = ids[identity[i]!]!;
          merchant[i] = ms[merchant[i]!]!;
        }
        if (shift !== 0) for (let i = 0; i < n; i++) line[i]! += shift;
      }
      const into = out.buckets.get(date);
      if (into) into.push(...parts);
      else out.buckets.set(date, [...parts]);
    }
    p.buckets.clear();
  }

  /** Hand the merged rows to `sink` once it holds `sink.maxRows` of them (counts and dictionaries stay). */
  spillIfFull(sink: ColumnarSpillSink): void {
    if (this.held < sink.maxRows) return;
    sink.write(this.out);
    this.out.buckets.clear();
    this.held = 0;
  }

  /**
   * The merged file (duplicates counted over all ranges, file-level checks as the one-pass parse), or null
   * when the ranges disagree on the encoding (UTF-8 in one, the single-byte page in another: the one-pass
   * parse fails such a file).
   */
  finish(): ColumnarParsedFile | null {
    if (this.mixed) return null;
    return finishParse(this.out, this.hashes, this.headerSeen);
  }
}

// Index of each of a range's dictionary entries in the merged dictionary (entries new to it appended).
function remap<E>(entries: readonly E[], into: E[], index: Map<string, number>, key: (e: E) => string): Int32Array {
  return Int32Array.from(entries, (e) => {
    const k = key(e);
    let i = index.get(k);
    if (i === undefined) {
      i = into.length;
      into.push(e);
      index.set(k, i);
    }
    return i;
  });
}

/**
 * Merge the results of all the consecutive ranges of one file (see {@link RangeMerger}; the ranges'
 * buckets are taken over). Returns null when the ranges disagree on the encoding.
 */
export function mergeRanges(file: string, ranges: readonly RangeResult[]): ColumnarParsedFile | null {
  const merger = new RangeMerger(file);
  for (const r of ranges) merger.add(r);
  return merger.finish();
}

/** Options of {@link parseFileParallel}. */
export interface ParallelOptions {
  /** Worker threads (from startIngestWorkers) parsing beside the main thread, which parses too. */
  readonly workers: readonly Worker[];
  /** Ranges to split the file into (more ranges than threads balance uneven progress). */
  readonly ranges: number;
  readonly chunkBytes: number;
  /** Without `spill`: give up (return null) once more valid rows than this are held. */
  readonly maxRows: number;
  /** Where merged rows go once `spill.maxRows` are held (bounded memory), as the one-pass parse spills. */
  readonly spill?: ColumnarSpillSink;
  readonly onProgress?: (bytes: number, rows: number) => void;
}

/**
 * Parse one file on several threads: the file is cut into ranges of whole lines ({@link splitRanges}),
 * the main thread and `workers` worker threads take ranges in turn, and a {@link RangeMerger} joins the
 * results in order as they come, which equal the one-pass {@link parseFileColumnar} result (tested), merged
 * rows spilled as they outgrow `spill.maxRows`. Returns null when the one-pass parse must decide instead: any
 * range failed (the one-pass parse then raises the exact error with its line numbers), the ranges disagree
 * on the encoding, or (without `spill`) the rows outgrow `maxRows`.
 */
export async function parseFileParallel(
  filePath: string,
  file: string,
  params: ParseParams,
  options: ParallelOptions,
): Promise<ColumnarParsedFile | null> {
  const size = fs.statSync(filePath).size;
  const fd = fs.openSync(filePath, 'r');
  let ranges: ByteRange[];
  try {
    ranges = splitRanges(fd, size, Math.max(1, options.ranges));
  } finally {
    fs.closeSync(fd);
  }
  // Each range is merged as soon as it and all its predecessors are parsed, so only ranges parsed ahead
  // of a slower predecessor wait unmerged (with their dictionaries), not the whole file.
  const waiting: (RangeResult | undefined)[] = new Array(ranges.length);
  const merger = new RangeMerger(file);
  let merged = 0;
  const pool = new RangeWorkers(options.workers.slice(0, ranges.length - 1));
  let next = 0;
  let failed = false;
  let bytesDone = 0;
  let rowsDone = 0;
  let held = 0;
  const done = (i: number, r: RangeResult) => {
    waiting[i] = r;
    for (let w = waiting[merged]; w !== undefined && !failed; w = waiting[merged]) {
      waiting[merged++] = undefined;
      merger.add(w);
      if (options.spill) merger.spillIfFull(options.spill);
    }
    bytesDone += r.parsed.bytes;
    rowsDone += r.parsed.rowsIn;
    held += r.parsed.rowsOut;
    if (!options.spill && held > options.maxRows) failed = true;
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
        parseRangeColumnar(file, readChunks(filePath, options.chunkBytes, range.start, range.end), params, { header }),
      ),
      ...pool.workers.map((w) =>
        run((range, header) =>
          pool.parse(w, { filePath, file, params, range, header, chunkBytes: options.chunkBytes }),
        ),
      ),
    ]);
  } finally {
    pool.close();
  }
  if (failed || merged !== ranges.length) return null;
  try {
    return merger.finish();
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
  const r = await parseRangeColumnar(
    job.file,
    readChunks(job.filePath, job.chunkBytes, job.range.start, job.range.end),
    job.params,
    { header: job.header },
  );
  // The range's columns (a few exact-size buffers that the date buckets are views of, see flushStaging)
  // and hashes move to the main thread without a copy.
  const transfer = new Set<ArrayBuffer>([r.hashes.buffer as ArrayBuffer]);
  for (const parts of r.parsed.buckets.values()) {
    for (const b of parts)
      for (const a of [b.identity, b.merchant, b.credit_limit, b.available_limit, b.amount, b.source_line])
        transfer.add(a.buffer as ArrayBuffer);
  }
  return { result: r, transfer: [...transfer] };
}

// Range jobs on shared ingest workers (startIngestWorkers), one job at a time each; the owner stops them.
class RangeWorkers {
  readonly workers: Worker[];
  private readonly channels = new Map<Worker, WorkerChannel<RangeJob, RangeResult>>();

  constructor(workers: readonly Worker[]) {
    this.workers = workers.filter(isWorkerAlive);
    for (const w of this.workers) this.channels.set(w, new WorkerChannel(w, INGEST_CHANNELS.range));
  }

  parse(worker: Worker, job: RangeJob): Promise<RangeResult> {
    return this.channels.get(worker)!.call(job);
  }

  close(): void {
    for (const c of this.channels.values()) c.detach();
  }
}
