import fs from 'node:fs';
import path from 'node:path';

/** Options of {@link RequestIds}. */
export interface RequestIdsOptions {
  /** The prediction log's root (`monitoring/predictions`), where every replica writes its lines. */
  readonly root: string;
  /** Partitions (days) of the log searched for ids this process did not issue. */
  readonly days?: number;
  /** Ids kept in memory at most (the oldest are forgotten first). */
  readonly maxIds?: number;
}

const REQUEST_ID = /"request_id":"([^"]+)"/;

/**
 * The request ids feedback may refer to: those this process answered, and those in the prediction log of
 * the last `days` days (written by this or another replica, or before a restart). Files are read
 * incrementally, from where the previous look stopped, and only when an id is not known yet.
 */
export class RequestIds {
  private readonly ids = new Set<string>();
  private readonly offsets = new Map<string, number>();

  constructor(private readonly options: RequestIdsOptions) {}

  /** Remember an id answered by this process. */
  add(id: string): void {
    this.ids.add(id);
    const max = this.options.maxIds ?? 1_000_000;
    if (this.ids.size > max) this.ids.delete(this.ids.values().next().value!);
  }

  /** Whether a prediction with this id was made (in memory, else in the recent log). */
  has(id: string): boolean {
    if (this.ids.has(id)) return true;
    this.readNewLines();
    return this.ids.has(id);
  }

  private readNewLines(): void {
    if (!fs.existsSync(this.options.root)) return;
    const partitions = fs
      .readdirSync(this.options.root)
      .filter((d) => d.startsWith('date='))
      .sort()
      .slice(-(this.options.days ?? 30));
    for (const p of partitions) {
      const dir = path.join(this.options.root, p);
      for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.jsonl'))) {
        const file = path.join(dir, f);
        const from = this.offsets.get(file) ?? 0;
        const size = fs.statSync(file).size;
        if (size <= from) continue;
        const fd = fs.openSync(file, 'r');
        try {
          const bytes = Buffer.alloc(size - from);
          fs.readSync(fd, bytes, 0, bytes.length, from);
          const text = bytes.toString('utf8');
          const end = text.lastIndexOf('\n') + 1; // a line still being written is read next time
          for (const line of text.slice(0, end).split('\n')) {
            const m = REQUEST_ID.exec(line);
            if (m) this.add(m[1]!);
          }
          this.offsets.set(file, from + Buffer.byteLength(text.slice(0, end)));
        } finally {
          fs.closeSync(fd);
        }
      }
    }
  }
}
