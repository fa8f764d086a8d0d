import { chooseVariant, stickyBucket } from './scoring';

describe('champion/challenger routing', () => {
  it('buckets keys stably and roughly uniformly', () => {
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 10_000; i++) counts[Math.floor(stickyBucket(`customer-${i}`) / 10)]! += 1;
    for (const c of counts) expect(c).toBeGreaterThan(800);
    expect(stickyBucket('abc')).toBe(stickyBucket('abc'));
  });

  it('sends the configured share to the challenger, sticky per customer, never in shadow mode or without one', () => {
    const routing = { challengerPercent: 25, shadow: false };
    let challenger = 0;
    for (let i = 0; i < 4000; i++) {
      const key = `k${i}`;
      const v = chooseVariant(key, routing, true);
      expect(chooseVariant(key, routing, true)).toBe(v);
      if (v === 'challenger') challenger += 1;
    }
    expect(challenger / 4000).toBeGreaterThan(0.2);
    expect(challenger / 4000).toBeLessThan(0.3);
    expect(chooseVariant('k1', { challengerPercent: 100, shadow: true }, true)).toBe('champion');
    expect(chooseVariant('k1', { challengerPercent: 100, shadow: false }, false)).toBe('champion');
    expect(chooseVariant('k1', { challengerPercent: 100, shadow: false }, true)).toBe('challenger');
  });
});
