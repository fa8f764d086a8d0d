import { seededRandom } from '@bolsillo/core';
import { repeatedFingerprintRows, repeatedFingerprints } from './row-hash';

/**
 * Fingerprints with repeats planted among random ones: exact copies of earlier rows, rows sharing
 * only the high word (not a repeat), and a crowd of rows in one narrow range of high words.
 */
function fingerprints(n: number): { hi: Uint32Array; lo: Uint32Array } {
  const rand = seededRandom(9);
  const word = () => Math.floor(rand() * 2 ** 32);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (i > 0 && r < 0.1) {
      const j = Math.floor(rand() * i);
      hi[i] = hi[j]!;
      lo[i] = lo[j]!;
    } else if (i > 0 && r < 0.2) {
      hi[i] = hi[Math.floor(rand() * i)]!;
      lo[i] = word();
    } else if (r < 0.4) {
      hi[i] = 0x80000000 + (i % 3);
      lo[i] = i % 50;
    } else {
      hi[i] = word();
      lo[i] = word();
    }
  }
  return { hi, lo };
}

/** The same answers from a map of every fingerprint. */
function bruteForce(hi: Uint32Array, lo: Uint32Array) {
  const count = new Map<string, number>();
  const key = (i: number) => `${hi[i]}:${lo[i]}`;
  for (let i = 0; i < hi.length; i++) count.set(key(i), (count.get(key(i)) ?? 0) + 1);
  const rows = [...hi.keys()].filter((i) => count.get(key(i))! > 1);
  return { rows, repeats: hi.length - count.size };
}

describe('repeated fingerprints', () => {
  it('are found the same whether the fingerprints are sorted at once or in small slices', () => {
    const { hi, lo } = fingerprints(5000);
    const expected = bruteForce(hi, lo);
    expect(expected.repeats).toBeGreaterThan(500);
    for (const sortRows of [64, 1000, 1 << 22]) {
      expect(Array.from(repeatedFingerprintRows(hi, lo, sortRows))).toEqual(expected.rows);
      expect(repeatedFingerprints(hi, lo, sortRows)).toBe(expected.repeats);
    }
  });

  it('handle no rows, one row and no repeats', () => {
    const none = new Uint32Array(0);
    expect(repeatedFingerprintRows(none, none, 4)).toEqual(new Uint32Array(0));
    expect(repeatedFingerprints(Uint32Array.of(1), Uint32Array.of(2), 4)).toBe(0);
    const hi = Uint32Array.from({ length: 100 }, (_, i) => i * 40_000_000);
    expect(repeatedFingerprintRows(hi, hi, 4)).toEqual(new Uint32Array(0));
  });
});
