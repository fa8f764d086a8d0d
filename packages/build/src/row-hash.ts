import type { Column } from './frame';

/** Mix one 32-bit word into a running FNV-1a-style hash (Math.imul keeps it in 32 bits). */
function mix(h: number, x: number): number {
  h ^= x;
  h = Math.imul(h, 0x01000193);
  h ^= h >>> 15;
  return h >>> 0;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mixString(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = mix(h, s.charCodeAt(i));
  return mix(h, s.length);
}

/**
 * Two independent 32-bit hashes (a 64-bit fingerprint) of every row over `cols`, and the row
 * indices sorted by fingerprint (ties by index, so the first occurrence in row order comes first;
 * skipped when `sort` is false).
 * Equal rows always get equal fingerprints; different rows collide with probability ~2^-64 per
 * pair. Missing values and each kind hash distinctly (null ≠ 0 ≠ false ≠ "0").
 */
export function hashRows(
  cols: readonly Column[],
  n: number,
  sort = true,
): { order: Uint32Array; hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(n).fill(0x811c9dc5);
  const lo = new Uint32Array(n).fill(0x01234567);
  for (const col of cols) {
    for (let i = 0; i < n; i++) {
      const v = col.get(i);
      let a = hi[i]!;
      let b = lo[i]!;
      if (v === null) {
        a = mix(a, 0x9e3779b9);
        b = mix(b, 0x7f4a7c15);
      } else if (typeof v === 'number') {
        f64[0] = v === 0 ? 0 : v; // -0 and 0 are the same value
        a = mix(mix(mix(a, 1), u32[0]!), u32[1]!);
        b = mix(mix(mix(b, 0x51), u32[1]! ^ 0xdeadbeef), u32[0]!);
      } else if (typeof v === 'boolean') {
        a = mix(a, v ? 3 : 2);
        b = mix(b, v ? 0x33 : 0x22);
      } else {
        a = mixString(mix(a, 4), v);
        b = mixString(mix(b, 0x44 ^ 0x5bd1e995), v);
      }
      hi[i] = a;
      lo[i] = b;
    }
  }
  if (!sort) return { order: new Uint32Array(0), hi, lo };
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((x, y) => hi[x]! - hi[y]! || lo[x]! - lo[y]! || x - y);
  return { order, hi, lo };
}
