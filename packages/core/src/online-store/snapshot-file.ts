import fs from 'node:fs';
import { createHash } from 'node:crypto';
import type { CustomerState, FeatureParams } from '../feature-kernel/kernel';

/** Bytes read from the file at a time. */
const CHUNK_BYTES = 1 << 20;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** JSON's whitespace (and \v, \f, which only count as trailing: `trimEnd` drops them before hashing). */
const isWhitespace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
const isTrailingWhitespace = (b: number) => isWhitespace(b) || b === 0x0b || b === 0x0c;

/** One customer of a snapshot file, in file order. */
export interface SnapshotEntry {
  readonly key: string;
  readonly state: CustomerState;
}

/** A snapshot file's fields besides its customers, checked once the whole file is read. */
export interface SnapshotSummary {
  readonly params: FeatureParams;
  readonly as_of: string;
  /** Customer entries read. */
  readonly customers: number;
}

/** Options of {@link SnapshotFile.open}. */
export interface SnapshotFileOptions {
  /** Bytes read at a time (tests use a few bytes, so every token straddles a read). */
  readonly chunkBytes?: number;
}

/**
 * An online store snapshot file (`customers.json`, `{"params":…,"as_of":…,"customers":{…}}`) read in
 * bounded memory: one chunk of the file and one customer at a time, however many customers it holds.
 * Any valid JSON layout is accepted (whitespace, field order); the file stays open, so a file renamed
 * over it meanwhile (the features stage's atomic write) does not change what is read.
 *
 * Bad input throws `<file>: not valid JSON (…)` or `<file>: not an online feature store (…)`, as
 * `parseOnlineStore` does over a whole text, but only once the reader reaches it: a caller that writes
 * while reading switches to what it wrote only after {@link customers} has run to its end.
 */
export class SnapshotFile {
  private readonly fields: { params?: FeatureParams; as_of?: string } = {};
  private done: SnapshotSummary | null = null;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    private readonly chunkBytes: number,
  ) {}

  /** Open a snapshot file; null when it does not exist. */
  static open(file: string, options: SnapshotFileOptions = {}): SnapshotFile | null {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    return new SnapshotFile(file, fd, Math.max(1, options.chunkBytes ?? CHUNK_BYTES));
  }

  /**
   * The version id of the content: `snapshotVersion` of the file's text without its trailing whitespace
   * (so a file written by `JSON.stringify` plus a newline gets its snapshot's id), hashed chunk by chunk.
   */
  version(): string {
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(this.chunkBytes);
    // Trailing whitespace is held back until something follows it: the file's last run is never hashed.
    let held: Buffer[] = [];
    let offset = 0;
    for (;;) {
      const n = fs.readSync(this.fd, chunk, 0, chunk.length, offset);
      if (n === 0) break;
      offset += n;
      let last = n - 1;
      while (last >= 0 && isTrailingWhitespace(chunk[last]!)) last -= 1;
      if (last >= 0) {
        for (const h of held) hash.update(h);
        held = [];
        hash.update(chunk.subarray(0, last + 1));
      }
      if (last < n - 1) held.push(Buffer.from(chunk.subarray(last + 1, n)));
    }
    return hash.digest('hex').slice(0, 16);
  }

  /**
   * Every customer entry in file order, parsed one at a time. Fields before `customers` are checked as
   * they come (and are then in {@link fieldsRead}); once the generator has finished, the whole file has
   * been checked and {@link summary} answers. One pass per reader.
   */
  *customers(): Generator<SnapshotEntry, void, undefined> {
    const s = new JsonScanner(this.fd, this.file, this.chunkBytes);
    const fields = this.fields;
    let count = 0;
    let sawCustomers = false;
    s.expect(OPEN_BRACE, 'an object');
    if (s.peek() === CLOSE_BRACE) s.next();
    else
      for (;;) {
        const field = s.readString();
        s.expect(COLON, "':'");
        if (field === 'customers') {
          if (sawCustomers) throw notAStore(this.file, 'customers appears twice');
          sawCustomers = true;
          if (s.peek() !== OPEN_BRACE) throw notAStore(this.file, 'customers is not an object');
          s.next();
          if (s.peek() === CLOSE_BRACE) s.next();
          else
            for (;;) {
              const key = s.readString();
              s.expect(COLON, "':'");
              const state = s.parseValue() as CustomerState;
              count += 1;
              yield { key, state };
              if (s.endOfMember()) break;
            }
        } else if (field === 'params' || field === 'as_of') {
          if (field in fields) throw notAStore(this.file, `${field} appears twice`);
          const value = s.parseValue();
          checkField(this.file, field, value);
          if (field === 'params') fields.params = value as FeatureParams;
          else fields.as_of = value as string;
        } else {
          s.parseValue();
        }
        if (s.endOfMember()) break;
      }
    s.expectEnd();
    if (!sawCustomers || fields.params === undefined || fields.as_of === undefined)
      throw notAStore(this.file, 'needs params, as_of, customers');
    this.done = { params: fields.params, as_of: fields.as_of, customers: count };
  }

  /** The fields read so far: in the files the features stage writes, both before the first customer. */
  get fieldsRead(): Readonly<{ params?: FeatureParams; as_of?: string }> {
    return this.fields;
  }

  /** The file's fields and customer count, once {@link customers} has run to its end. */
  summary(): SnapshotSummary {
    if (this.done === null) throw new Error(`${this.file}: summary() before every customer was read`);
    return this.done;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

function notAStore(file: string, why: string): Error {
  return new Error(`${file}: not an online feature store (${why})`);
}

function checkField(file: string, field: 'params' | 'as_of', value: unknown): void {
  if (field === 'as_of' && typeof value !== 'string') throw notAStore(file, 'as_of is not a string');
  if (
    field === 'params' &&
    (!value || typeof value !== 'object' || !Array.isArray((value as Partial<FeatureParams>).essentialGroups))
  )
    throw notAStore(file, 'params has no essentialGroups list');
}

/**
 * A pull scanner over a JSON file's bytes, chunk by chunk. It finds where each value ends (strings,
 * nesting) and hands the value's bytes to `JSON.parse`, which checks them: structure is found here,
 * validity is JSON.parse's. UTF-8 never uses ASCII bytes inside a multi-byte character, so scanning
 * bytes for `"`, `\`, brackets and commas is exact.
 */
class JsonScanner {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private offset = 0;
  private eof = false;

  constructor(
    private readonly fd: number,
    private readonly file: string,
    private readonly chunkBytes: number,
  ) {}

  /** Read the next chunk (a new buffer: a value being captured may still hold the previous one). */
  private fill(): boolean {
    if (this.eof) return false;
    const chunk = Buffer.allocUnsafe(this.chunkBytes);
    const n = fs.readSync(this.fd, chunk, 0, chunk.length, this.offset);
    if (n === 0) {
      this.eof = true;
      return false;
    }
    this.offset += n;
    this.buf = chunk.subarray(0, n);
    this.pos = 0;
    return true;
  }

  private fail(what: string): Error {
    const at = this.offset - (this.buf.length - this.pos);
    return new Error(`${this.file}: not valid JSON (${what} at byte ${at})`);
  }

  /** The next byte that is not whitespace, not consumed; -1 at the end of the file. */
  peek(): number {
    for (;;) {
      while (this.pos < this.buf.length) {
        const b = this.buf[this.pos]!;
        if (!isWhitespace(b)) return b;
        this.pos += 1;
      }
      if (!this.fill()) return -1;
    }
  }

  next(): void {
    this.pos += 1;
  }

  expect(byte: number, what: string): void {
    if (this.peek() !== byte) throw this.fail(`expected ${what}`);
    this.pos += 1;
  }

  /** After an object member: true at its closing brace (consumed), false at a comma (consumed). */
  endOfMember(): boolean {
    const b = this.peek();
    this.pos += 1;
    if (b === CLOSE_BRACE) return true;
    if (b === COMMA) return false;
    this.pos -= 1;
    throw this.fail("expected ',' or '}'");
  }

  /** Nothing but whitespace left. */
  expectEnd(): void {
    const b = this.peek();
    if (b === -1) return;
    throw this.fail('unexpected content after the store');
  }

  readString(): string {
    if (this.peek() !== QUOTE) throw this.fail('expected a string');
    const value = this.parseValue();
    return value as string;
  }

  /** The next value, parsed. */
  parseValue(): unknown {
    const text = this.valueText();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw this.fail((error as Error).message);
    }
  }

  /** The next value's text: from its first byte to its last, across as many chunks as it spans. */
  private valueText(): string {
    const first = this.peek();
    if (first === -1) throw this.fail('unexpected end of file');
    const pieces: Buffer[] = [];
    let start = this.pos;
    let depth = 0;
    let inString = false;
    let escaped = false;
    const scalar = first !== QUOTE && first !== OPEN_BRACE && first !== OPEN_BRACKET;
    for (;;) {
      const buf = this.buf;
      let i = this.pos;
      let done = false;
      for (; i < buf.length; i += 1) {
        const b = buf[i]!;
        if (scalar) {
          if (isWhitespace(b) || b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET) {
            done = true;
            break;
          }
        } else if (inString) {
          if (escaped) escaped = false;
          else if (b === BACKSLASH) escaped = true;
          else if (b === QUOTE) {
            inString = false;
            if (depth === 0) {
              i += 1;
              done = true;
              break;
            }
          }
        } else if (b === QUOTE) inString = true;
        else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth += 1;
        else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
          depth -= 1;
          if (depth === 0) {
            i += 1;
            done = true;
            break;
          }
        }
      }
      this.pos = i;
      if (done) {
        pieces.push(buf.subarray(start, i));
        break;
      }
      pieces.push(buf.subarray(start, buf.length));
      if (!this.fill()) {
        if (scalar) break;
        throw this.fail('unexpected end of file');
      }
      start = 0;
    }
    return pieces.length === 1 ? pieces[0]!.toString('utf8') : Buffer.concat(pieces).toString('utf8');
  }
}
