import { binIndex } from './histogram';
import { seededRandom } from './metrics';
import { Reservoir } from './sampling';

describe('Reservoir', () => {
  it('keeps everything, in order, while the stream is no longer than its capacity', () => {
    const r = new Reservoir<number>(5, 1);
    for (const x of [3, 1, 4]) r.offer(x);
    expect(r.items).toEqual([3, 1, 4]);
    expect(r.inStreamOrder()).toEqual([3, 1, 4]);
    expect(r.seen).toBe(3);
  });

  it('is Algorithm R with the seeded source: the same sample for the same seed, drawn only once full', () => {
    const sample = (seed: number) => {
      const r = new Reservoir<number>(10, seed);
      for (let i = 0; i < 1000; i++) r.offer(i);
      return r;
    };
    const a = sample(7);
    expect(a.items).toEqual(sample(7).items);
    expect(a.items).not.toEqual(sample(8).items);
    // The same draws by hand: item k replaces slot floor(u * (k + 1)) when that is below the capacity.
    const rand = seededRandom(7);
    const slots = Array.from({ length: 10 }, (_, i) => i);
    for (let k = 10; k < 1000; k++) {
      const j = Math.floor(rand() * (k + 1));
      if (j < 10) slots[j] = k;
    }
    expect(a.items).toEqual(slots);
    expect(a.inStreamOrder()).toEqual([...slots].sort((x, y) => x - y));
  });

  it('offerWith keeps the same sample as offer, and makes only the items it keeps', () => {
    const a = new Reservoir<number>(10, 3);
    const b = new Reservoir<number>(10, 3);
    let made = 0;
    for (let i = 0; i < 1000; i++) {
      a.offer(i);
      b.offerWith(() => {
        made++;
        return i;
      });
    }
    expect(b.items).toEqual(a.items);
    expect(b.inStreamOrder()).toEqual(a.inStreamOrder());
    expect(b.seen).toBe(1000);
    expect(made).toBeGreaterThanOrEqual(10);
    expect(made).toBeLessThan(200);
  });

  it('samples uniformly: every item about equally often over many seeds', () => {
    const hits = new Array<number>(20).fill(0);
    for (let seed = 0; seed < 2000; seed++) {
      const r = new Reservoir<number>(5, seed);
      for (let i = 0; i < 20; i++) r.offer(i);
      for (const x of r.items) hits[x]! += 1;
    }
    // Expected 2000 * 5 / 20 = 500 per item.
    for (const h of hits) expect(Math.abs(h - 500)).toBeLessThan(100);
  });
});

describe('binIndex', () => {
  it('puts values in [e_i, e_i+1), open at both ends, the last bin including its upper edge', () => {
    const edges = [0, 1, 2, 3];
    expect([-5, 0, 0.99, 1, 2.5, 3, 99].map((x) => binIndex(edges, x))).toEqual([0, 0, 0, 1, 2, 2, 2]);
  });

  it('gives bin 0 with a single bin, no bin, or NaN', () => {
    expect(binIndex([1, 1], 5)).toBe(0);
    expect(binIndex([], 5)).toBe(0);
    expect(binIndex([0, 1, 2], Number.NaN)).toBe(0);
  });
});
