import { seededRandom } from '@bolsillo/core';
import type { FamilySpace, HyperParams, SpaceDim } from './params';

/** One configuration to try: family, hyper-parameters and how it was proposed. */
export interface Candidate {
  readonly id: string;
  readonly family: 'logistic' | 'mlp' | 'gbdt';
  readonly params: HyperParams;
  readonly search: 'grid' | 'random';
}

/** Every combination of a grid, in a stable order (keys sorted). */
export function expandGrid(grid: Readonly<Record<string, readonly unknown[]>>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const key of Object.keys(grid).sort())
    points = points.flatMap((p) => grid[key]!.map((v) => ({ ...p, [key]: v })));
  return points;
}

function draw(dim: SpaceDim, rand: () => number): unknown {
  if ('choice' in dim) return dim.choice[Math.floor(rand() * dim.choice.length)];
  if ('uniform' in dim) return dim.uniform[0] + rand() * (dim.uniform[1] - dim.uniform[0]);
  if ('log_uniform' in dim) {
    const [a, b] = dim.log_uniform;
    return Number(Math.exp(Math.log(a) + rand() * (Math.log(b) - Math.log(a))).toPrecision(4));
  }
  return dim.int[0] + Math.floor(rand() * (dim.int[1] - dim.int[0] + 1));
}

const key = (p: HyperParams) =>
  JSON.stringify(Object.fromEntries(Object.entries(p).sort(([a], [b]) => (a < b ? -1 : 1))));

/**
 * The candidates of one family: the grid (over the fixed values), then `random.trials` seeded draws
 * from the random space (over the fixed values). Duplicates are dropped.
 */
export function familyCandidates(family: Candidate['family'], space: FamilySpace, seed: number): Candidate[] {
  const seen = new Set<string>();
  const out: Candidate[] = [];
  const add = (params: HyperParams, search: Candidate['search']) => {
    const k = key(params);
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ id: `${family}-${out.length + 1}`, family, params, search });
  };
  for (const point of expandGrid(space.grid)) add({ ...space.fixed, ...point } as HyperParams, 'grid');
  const rand = seededRandom(seed);
  for (let t = 0; t < space.random.trials; t++) {
    const point = Object.fromEntries(
      Object.keys(space.random.space)
        .sort()
        .map((k) => [k, draw(space.random.space[k]!, rand)]),
    );
    add({ ...space.fixed, ...point } as HyperParams, 'random');
  }
  return out;
}
