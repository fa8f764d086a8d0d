import fs from 'node:fs';
import path from 'node:path';
import type { Transaction } from '@bolsillo/schema';

/** A landed transaction: the canonical row ingest writes to the lake, lineage pointing at the landing file. */
export type LandedTransaction = Transaction;

/**
 * The landing folder: every transaction accepted by a push or the stream, appended durably (written
 * and fdatasync'ed before the store is changed) for the next daily ingest. Pseudonymised already:
 * raw customer ids never reach the disk.
 *
 * Each writer (an API process, a stream consumer) appends to its own files,
 * `landing/<writer>/<YYYY-MM-DD>.jsonl` (arrival day, UTC), one canonical {@link Transaction} per
 * line whose `source_file`/`source_line` are that file and line. A writer remembers the ids it
 * landed (read back from its files when it opens), so a redelivered transaction is not landed twice
 * by the same writer; a line torn by a crash is cut off when the writer opens.
 */
export class LandingWriter {
  private readonly landed = new Set<string>();
  private readonly lines = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    readonly dir: string,
    readonly writer: string,
    private readonly now: () => Date,
  ) {}

  /** Open a writer's folder (created if missing), repair a torn last line, remember what it landed. */
  static open(root: string, writer: string, now: () => Date = () => new Date()): LandingWriter {
    if (!/^[A-Za-z0-9._-]+$/.test(writer)) throw new Error(`landing writer id "${writer}" must be [A-Za-z0-9._-]+`);
    const w = new LandingWriter(path.join(root, writer), writer, now);
    fs.mkdirSync(w.dir, { recursive: true });
    for (const name of fs
      .readdirSync(w.dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()) {
      const file = path.join(w.dir, name);
      let text = fs.readFileSync(file, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      if (end < text.length) {
        // A line torn by a crash mid-append: it was never synced, so nothing downstream saw it.
        fs.truncateSync(file, Buffer.byteLength(text.slice(0, end)));
        text = text.slice(0, end);
      }
      let n = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        n += 1;
        w.landed.add((JSON.parse(line) as Transaction).txn_id);
      }
      w.lines.set(file, n);
    }
    return w;
  }

  /** Whether this writer already landed the transaction. */
  has(txnId: string): boolean {
    return this.landed.has(txnId);
  }

  /** Transactions this writer has landed. */
  get size(): number {
    return this.landed.size;
  }

  /**
   * Append the transactions this writer has not landed yet, in order, and sync them to disk; resolves
   * when they are durable. Calls are serialised (each waits for the previous one's sync).
   */
  append(txns: readonly Omit<Transaction, 'source_file' | 'source_line'>[]): Promise<void> {
    const next = this.chain.then(() => this.write(txns));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(txns: readonly Omit<Transaction, 'source_file' | 'source_line'>[]): Promise<void> {
    const seen = new Set<string>();
    const fresh = txns.filter((t) => !this.landed.has(t.txn_id) && !seen.has(t.txn_id) && (seen.add(t.txn_id), true));
    if (fresh.length === 0) return;
    const file = path.join(this.dir, `${this.now().toISOString().slice(0, 10)}.jsonl`);
    let n = this.lines.get(file) ?? 0;
    const sourceFile = path.posix.join('landing', this.writer, path.basename(file));
    let text = '';
    for (const t of fresh) {
      n += 1;
      const row: Transaction = { ...t, source_file: sourceFile, source_line: n };
      text += `${JSON.stringify(row)}\n`;
    }
    const fh = await fs.promises.open(file, 'a');
    try {
      await fh.write(text);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    this.lines.set(file, n);
    for (const t of fresh) this.landed.add(t.txn_id);
  }

  /** Resolves when every append so far is on disk. */
  flush(): Promise<void> {
    return this.chain;
  }
}

/** Every landed transaction under a landing root, file by file in name order (tests and ingest). */
export function readLanding(root: string): LandedTransaction[] {
  if (!fs.existsSync(root)) return [];
  const out: LandedTransaction[] = [];
  for (const writer of fs.readdirSync(root).sort()) {
    const dir = path.join(root, writer);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const name of fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.jsonl'))
      .sort()) {
      for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
        if (line !== '') out.push(JSON.parse(line) as LandedTransaction);
      }
    }
  }
  return out;
}
