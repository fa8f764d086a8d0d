import { averagePrecision, rocAuc, seededRandom } from './metrics';

/** ROC AUC by counting pairs: a positive above a negative counts 1, a tie 1/2. */
function pairwiseAuc(y: number[], p: number[]): number {
  let s = 0;
  let pairs = 0;
  for (let i = 0; i < y.length; i++)
    for (let j = 0; j < y.length; j++)
      if (y[i] && !y[j]) {
        pairs++;
        s += p[i]! > p[j]! ? 1 : p[i] === p[j] ? 0.5 : 0;
      }
  return s / pairs;
}

/** Average precision from its definition: precision at each distinct score, weighted by the recall it adds. */
function definitionAp(y: number[], p: number[]): number {
  const positives = y.filter(Boolean).length;
  const levels = [...new Set(p)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const v of levels) {
    const above = p.map((q, i) => (q >= v ? i : -1)).filter((i) => i >= 0);
    const tp = above.filter((i) => y[i]).length;
    const recall = tp / positives;
    ap += (recall - prevRecall) * (tp / above.length);
    prevRecall = recall;
  }
  return ap;
}

describe('ranking metrics', () => {
  it('match their definitions with many tied scores and without', () => {
    const rand = seededRandom(3);
    for (const levels of [2, 5, 1000]) {
      const y = Array.from({ length: 300 }, () => (rand() < 0.3 ? 1 : 0));
      const p = y.map((v) => Math.floor((rand() + 0.3 * v) * levels) / levels);
      expect(rocAuc(y, p)).toBeCloseTo(pairwiseAuc(y, p), 12);
      expect(averagePrecision(y, p)).toBeCloseTo(definitionAp(y, p), 12);
    }
  });

  it('are undefined with one class, and perfect or worst for a separating score', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNaN();
    expect(averagePrecision([0, 0], [0.2, 0.3])).toBeNaN();
    expect(rocAuc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])).toBe(1);
    expect(rocAuc([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2])).toBe(0);
    expect(averagePrecision([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8])).toBe(1);
    // Every score tied: precision is the prevalence at the single step.
    expect(averagePrecision([0, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.25);
    expect(rocAuc([0, 1, 0, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
  });
});
