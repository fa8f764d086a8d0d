import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

function tmpName(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`,
  );
}

/**
 * Write a file so that readers see the old content or the new, never a partial one: write a
 * temporary sibling, fsync it, rename it over the target.
 */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  stageFileAtomic(target, (write) => write(data)).commit();
}

/** A file written under a temporary name and synced: {@link commit} renames it into place, {@link discard} removes it. */
export interface StagedFile {
  commit(): void;
  discard(): void;
}

/** Bytes gathered before a write call when a file is written piece by piece. */
const STAGED_WRITE_BYTES = 1 << 20;

/**
 * The first half of {@link writeFileAtomic} for content produced piece by piece (so it never has to be
 * whole in memory): `fill` writes the pieces into a temporary sibling, which is synced and left for the
 * caller to commit (rename over `target`) or discard. If `fill` throws, the temporary file is removed.
 */
export function stageFileAtomic(
  target: string,
  fill: (write: (piece: string | Uint8Array) => void) => void,
): StagedFile {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  const fd = fs.openSync(tmp, 'w');
  try {
    let pending: string[] = [];
    let pendingLength = 0;
    const flush = () => {
      if (pending.length > 0) fs.writeSync(fd, pending.join(''));
      pending = [];
      pendingLength = 0;
    };
    fill((piece) => {
      if (typeof piece !== 'string') {
        flush();
        fs.writeSync(fd, piece);
        return;
      }
      pending.push(piece);
      pendingLength += piece.length;
      if (pendingLength >= STAGED_WRITE_BYTES) flush();
    });
    flush();
    fs.fsyncSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.closeSync(fd);
  return {
    commit: () => fs.renameSync(tmp, target),
    discard: () => fs.rmSync(tmp, { force: true }),
  };
}

/** {@link writeFileAtomic} for JSON, pretty-printed with a trailing newline. */
export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, `${JSON.stringify(value, null, 2)}\n`);
}

/** Read and parse a JSON file; `fallback` when it does not exist. */
export function readJson<T>(file: string, fallback?: T): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    // Read first, no existence check before: a file another process removes in between (a finished
    // alias move) is then simply missing, not an error.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: file not found`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Create a folder atomically: `fill` writes into a temporary sibling, which is then renamed to
 * `target`. If `target` exists it is swapped out and removed after the new one is in place.
 * `staged(file)` maps a file's final path under `target` to its path in the temporary folder, so
 * files can be named by the data layout (`staged(layout.masterManifest(hash))`).
 */
export async function writeDirAtomic(
  target: string,
  fill: (tmpDir: string, staged: (file: string) => string) => Promise<void> | void,
): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tmpName(target);
  fs.mkdirSync(tmp, { recursive: true });
  const staged = (file: string) => {
    const rel = path.relative(target, file);
    if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`${file} is not inside ${target}`);
    return path.join(tmp, rel);
  };
  try {
    await fill(tmp, staged);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  if (fs.existsSync(target)) {
    const old = `${tmp}.old`;
    fs.renameSync(target, old);
    fs.renameSync(tmp, target);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(tmp, target);
  }
}

/** Remove temporary files and folders left by a killed writer (names starting with `.` and containing `.tmp-`). */
export function cleanTemporaries(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let removed = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name.startsWith('.') && entry.name.includes('.tmp-')) {
      fs.rmSync(full, { recursive: true, force: true });
      removed += 1;
    } else if (entry.isDirectory()) {
      removed += cleanTemporaries(full);
    }
  }
  return removed;
}

/** Append lines to a JSON-lines file (one `JSON.stringify` per value). */
export function appendJsonl(file: string, values: readonly unknown[]): void {
  if (values.length === 0) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
}

/** Read a JSON-lines file; a missing file is empty, a torn last line (crash mid-append) is ignored. */
export function readJsonl<T>(file: string): T[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const out: T[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as T);
    } catch (error) {
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim()))
        throw new Error(`${file}:${i + 1}: ${(error as Error).message}`);
    }
  });
  return out;
}
