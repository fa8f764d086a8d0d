import fs from 'node:fs';
import path from 'node:path';

/** Options of {@link JsonlLog}. */
export interface JsonlLogOptions {
  /** Dataset root; lines go to `<root>/date=YYYY-MM-DD/<pid>-<startms>.jsonl`. */
  readonly root: string;
  /** Flush interval (ms). */
  readonly flushMs?: number;
  /** Lines kept in memory at most; beyond it new lines are dropped (and counted) rather than grow without bound. */
  readonly maxBuffered?: number;
  /** Called with the number of lines dropped. */
  readonly onDrop?: (lines: number) => void;
  readonly log?: (message: string) => void;
  /** Process id and start time in the file name: one writer per file, so appends never interleave. */
  readonly pid?: number;
  readonly startMs?: number;
}

/**
 * A date-partitioned JSON-lines log written off the request path: `push` only buffers; a timer
 * (and `close`) appends the buffer with one asynchronous write per partition file.
 */
export class JsonlLog<T> {
  private buffer: { date: string; line: string }[] = [];
  private readonly timer: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly fileName: string;

  constructor(private readonly options: JsonlLogOptions) {
    this.fileName = `${options.pid ?? process.pid}-${options.startMs ?? Date.now()}.jsonl`;
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 1000);
    this.timer.unref();
  }

  /** The file lines for `date` go to. */
  fileFor(date: string): string {
    return path.join(this.options.root, `date=${date}`, this.fileName);
  }

  /** Buffer one record for partition `date` (YYYY-MM-DD). Never blocks, never throws. */
  push(date: string, value: T): void {
    if (this.closed || this.buffer.length >= (this.options.maxBuffered ?? 100_000)) {
      this.options.onDrop?.(1);
      return;
    }
    this.buffer.push({ date, line: JSON.stringify(value) });
  }

  /** Lines waiting to be written. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Write everything buffered so far; resolves when it is on disk. */
  flush(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    // Chain writes so two flushes never append to the same file at once.
    this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  /** Flush and stop the timer. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
  }

  private async write(batch: { date: string; line: string }[]): Promise<void> {
    if (batch.length === 0) return;
    const byDate = new Map<string, string[]>();
    for (const { date, line } of batch) {
      const lines = byDate.get(date) ?? [];
      lines.push(line);
      byDate.set(date, lines);
    }
    for (const [date, lines] of byDate) {
      const file = this.fileFor(date);
      try {
        await fs.promises.mkdir(path.dirname(file), { recursive: true });
        await fs.promises.appendFile(file, `${lines.join('\n')}\n`);
      } catch (error) {
        this.options.onDrop?.(lines.length);
        this.options.log?.(`log: could not append ${lines.length} lines to ${file}: ${(error as Error).message}`);
      }
    }
  }
}
