import crypto from 'node:crypto';
import fs from 'node:fs';

/** SHA-256 hex digest of bytes or text. */
export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** SHA-256 hex digest of a file's bytes, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      return Object.fromEntries(
        Object.keys(v as object)
          .sort()
          .map((k) => [k, (v as Record<string, unknown>)[k]]),
      );
    }
    return v;
  });
}

/**
 * cyrb53: a fast, well-spread 53-bit hash of a string's UTF-16 code units (not cryptographic). Ingest
 * counts exact duplicate lines by it without keeping the lines. {@link cyrb53Lane1}, {@link cyrb53Lane2}
 * and {@link cyrb53Finish} are its steps, for a caller that feeds the code units itself while it reads
 * them anyway (ingest's byte scan of a line): the same value as `cyrb53` of the same code units.
 */
export function cyrb53(text: string): number {
  let h1 = CYRB53_SEED_1;
  let h2 = CYRB53_SEED_2;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = cyrb53Lane1(h1, ch);
    h2 = cyrb53Lane2(h2, ch);
  }
  return cyrb53Finish(h1, h2);
}

/** The first lane's state before any input. */
export const CYRB53_SEED_1 = 0xdeadbeef;
/** The second lane's state before any input. */
export const CYRB53_SEED_2 = 0x41c6ce57;

/** One code unit into the first lane. */
export function cyrb53Lane1(h: number, ch: number): number {
  return Math.imul(h ^ ch, 2654435761);
}

/** One code unit into the second lane. */
export function cyrb53Lane2(h: number, ch: number): number {
  return Math.imul(h ^ ch, 1597334677);
}

/** The hash of the two lanes' final states. */
export function cyrb53Finish(h1: number, h2: number): number {
  const a = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const b = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  return 4294967296 * (2097151 & b) + (a >>> 0);
}
