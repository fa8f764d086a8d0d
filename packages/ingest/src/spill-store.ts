import fs from 'node:fs';
import path from 'node:path';
import type { PartitionPart } from './columnar-table';
import type { ColumnarBucket, ColumnarParsedFile, ColumnarSpillSink } from './parse-fast';
import type { ShardRowFilter } from './shard-rows';

/** Where a parse spills rows beyond `spill_rows`: one {@link SpillStore}, or one per part (`ingest --parts N`). */
export interface SpillTarget {
  /** A sink for one file's parse; a shard's run keeps only its customers' rows (`shardRows`) before they are spilled. */
  sink(maxRows: number, shardRows?: ShardRowFilter): ColumnarSpillSink;
  /** Forget and delete every row spilled from source file `source` (a file rejected, or parsed again). */
  withdraw(source: string): void;
}

/** One spilled date bucket: `length` rows of source file `source`, at `offset` of spill file `file`. */
interface SpilledBucket {
  readonly source: string;
  readonly file: string;
  readonly offset: number;
  readonly length: number;
}

// A spilled row on disk: amount (float64), then identity, merchant, credit_limit, available_limit and
// source_line (int32), each bucket column after column, so every column reads back as an aligned view.
const ROW_BYTES = 8 + 5 * 4;

/**
 * Rows spilled to temporary files while a large file is parsed (bounded memory). A spill keeps the parse's
 * typed columns as they are, indexes into the parsed file's identity and merchant dictionaries (which only
 * grow), so the write phase builds a partition from spilled and held rows alike, column-wise. One file per
 * spill, all its date buckets back to back; the folder is removed at the end of the run, or by
 * `cleanTemporaries` after a crash (its name says so).
 */
export class SpillStore implements SpillTarget {
  private readonly byDate = new Map<string, SpilledBucket[]>();
  private seq = 0;

  constructor(readonly dir: string) {}

  sink(maxRows: number, shardRows?: ShardRowFilter): ColumnarSpillSink {
    return {
      maxRows,
      write: (partial) => {
        shardRows?.restrict(partial);
        this.write(partial);
      },
    };
  }

  /** Spill the date buckets of a parse's partial result into one new file. */
  write(partial: ColumnarParsedFile): void {
    let rows = 0;
    for (const parts of partial.buckets.values()) for (const b of parts) rows += b.length;
    if (rows === 0) return;
    fs.mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, `spill-${this.seq++}.bin`);
    const fd = fs.openSync(file, 'w');
    try {
      let offset = 0;
      for (const [date, parts] of partial.buckets) {
        for (const b of parts) {
          if (b.length === 0) continue;
          for (const a of columnsOf(b)) fs.writeSync(fd, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
          const list = this.byDate.get(date);
          const entry = { source: partial.file, file, offset, length: b.length };
          if (list) list.push(entry);
          else this.byDate.set(date, [entry]);
          offset += b.length * ROW_BYTES;
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * The rows of `date` after the parse, as partition parts: for each parsed file in order, its spilled
   * buckets (in the order spilled, which is line order) and then the buckets it still holds.
   */
  partitionParts(date: string, parsed: readonly ColumnarParsedFile[]): PartitionPart[] {
    const spilled = this.byDate.get(date) ?? [];
    return parsed.flatMap((p) => [
      ...spilled.filter((s) => s.source === p.file).map((s) => ({ parsed: p, bucket: readBucket(s) })),
      ...(p.buckets.get(date) ?? []).map((bucket) => ({ parsed: p, bucket })),
    ]);
  }

  withdraw(source: string): void {
    const files = new Set<string>();
    for (const [date, list] of this.byDate) {
      for (const s of list) if (s.source === source) files.add(s.file);
      this.byDate.set(
        date,
        list.filter((s) => s.source !== source),
      );
    }
    for (const f of files) fs.rmSync(f, { force: true });
  }

  /** Delete the spill folder. */
  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * One spill store per part, for one process writing every part (`ingest --parts N`): each spilled partial
 * result is split by customer, part i's rows into store i, as shard i's run would spill them.
 */
export class PartSpills implements SpillTarget {
  constructor(
    readonly stores: readonly SpillStore[],
    private readonly parts: readonly ShardRowFilter[],
  ) {}

  sink(maxRows: number): ColumnarSpillSink {
    return {
      maxRows,
      write: (partial) => this.parts.forEach((part, i) => this.stores[i]!.write(part.restricted(partial))),
    };
  }

  withdraw(source: string): void {
    for (const s of this.stores) s.withdraw(source);
  }
}

function columnsOf(b: ColumnarBucket): (Int32Array | Float64Array)[] {
  return [b.amount, b.identity, b.merchant, b.credit_limit, b.available_limit, b.source_line];
}

function readBucket(s: SpilledBucket): ColumnarBucket {
  const n = s.length;
  const buf = new ArrayBuffer(n * ROW_BYTES);
  const fd = fs.openSync(s.file, 'r');
  try {
    const bytes = new Uint8Array(buf);
    for (let at = 0; at < bytes.length;) {
      const read = fs.readSync(fd, bytes, at, bytes.length - at, s.offset + at);
      if (read <= 0) throw new Error(`spill file ${s.file} is shorter than recorded`);
      at += read;
    }
  } finally {
    fs.closeSync(fd);
  }
  const int = (k: number) => new Int32Array(buf, 8 * n + 4 * n * k, n);
  return {
    length: n,
    amount: new Float64Array(buf, 0, n),
    identity: int(0),
    merchant: int(1),
    credit_limit: int(2),
    available_limit: int(3),
    source_line: int(4),
  };
}
