/**
 * Test fixtures: a small generated master table and hand-built registry versions (logistic
 * layers models with chosen weights, so "better" and "worse" are known by construction).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataLayout, seededRandom, tableFromRows, writeContract, writeParquetFile } from '@bolsillo/core';
import { baselineArtifacts, newVersionId, writeModelVersion } from '@bolsillo/model';
import {
  FEATURE_DECLARATIONS,
  MasterLatestSchema,
  MasterRowSchema,
  TARGET,
  arrowSchemaFor,
  type ModelCard,
} from '@bolsillo/schema';

export const MASTER_HASH = 'testhash0001';

/** A fresh temporary data folder. */
export function tempDataDir(prefix = 'evaluate-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Master rows whose target depends on available_ratio and is_essential, with label noise; 40
 * customers. (available_ratio stands for "the ratio known at the snapshot": a name both feature sets have.)
 */
export function makeMasterRows(n: number, seed: number): Record<string, unknown>[] {
  const rand = seededRandom(seed);
  const base: Record<string, unknown> = {};
  for (const d of FEATURE_DECLARATIONS) base[d.name] = d.dtype === 'boolean' ? false : d.dtype === 'category' ? 'x' : 0;
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const ratio = rand();
    const essential = rand() < 0.4;
    const noisy = ratio + (rand() - 0.5) * 0.3;
    const target = (noisy < 0.3 && !essential) !== rand() < 0.03;
    const u = rand();
    const split = u < 0.5 ? 'train' : u < 0.65 ? 'calibration' : u < 0.85 ? 'test' : 'holdout';
    rows.push({
      ...base,
      txn_id: `t${i}`,
      customer_key: `c${i % 40}`,
      date: '2020-01-01',
      amount: 10 + 200 * rand(),
      available_ratio: ratio,
      is_essential: essential,
      merchant_group: essential ? 'SUPERMERCADOS' : 'VAREJO',
      [TARGET]: target,
      group: `c${i % 40}`,
      split,
      fold: split === 'train' ? i % 3 : -1,
    });
  }
  return rows;
}

/** Write a master table and `master/latest.json` into `dataDir`. */
export function writeMaster(dataDir: string, rows: readonly Record<string, unknown>[], hash = MASTER_HASH): void {
  const layout = dataLayout(dataDir);
  writeParquetFile(layout.masterTable(hash), tableFromRows(arrowSchemaFor(MasterRowSchema), rows));
  writeContract(layout.masterLatest, MasterLatestSchema, { hash });
}

let clock = Date.UTC(2026, 0, 1, 0, 0, 0);
/** Version ids that sort in creation order. */
function nextVersion(): { version: string; created_at: string } {
  clock += 1000;
  const at = new Date(clock);
  return { version: newVersionId(at), created_at: at.toISOString() };
}

function cardFor(family: ModelCard['family'], extra: Partial<ModelCard>): ModelCard {
  const { version, created_at } = nextVersion();
  return {
    version,
    created_at,
    family,
    features: [],
    preprocessing: {},
    calibration: { method: 'none' },
    threshold: 0.5,
    master_hash: MASTER_HASH,
    params: {},
    cv: {},
    metrics: {},
    training_seconds: 0,
    backend: 'test',
    code_version: 'test',
    parent: null,
    ...extra,
  };
}

/**
 * Register a logistic model p = sigmoid(b + wRatio·z(available_ratio) + wEss·is_essential).
 * Negative wRatio and wEss fit the generated target; positive ones invert it.
 */
export async function registerLogistic(dataDir: string, wRatio: number, wEss: number, bias = -1.5): Promise<string> {
  const card = cardFor('logistic', {
    features: ['available_ratio', 'is_essential'],
    preprocessing: {
      columns: [
        { name: 'available_ratio', kind: 'numeric', mean: 0.5, std: 0.29, missing_indicator: false },
        { name: 'is_essential', kind: 'boolean' },
      ],
      width: 2,
      encoded_names: ['available_ratio', 'is_essential'],
    },
  });
  const weights = new Float32Array([wRatio, wEss, bias]);
  await writeModelVersion(dataLayout(dataDir).registry, card, {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'evaluate-test',
      convertedBy: null,
      modelTopology: {
        class_name: 'Sequential',
        config: {
          name: 'seq',
          layers: [{ class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'sigmoid', use_bias: true } }],
        },
      },
      weightsManifest: [
        {
          paths: ['weights.bin'],
          weights: [
            { name: 'dense/kernel', shape: [2, 1], dtype: 'float32' },
            { name: 'dense/bias', shape: [1], dtype: 'float32' },
          ],
        },
      ],
    },
    weights: new Uint8Array(weights.buffer),
  });
  return card.version;
}

const logit = (p: number) => Math.log(p / (1 - p));

/**
 * Register the baselines the way train does (declarative model.json, role baseline, one per kind):
 * the prior, the ratio rule (available_ratio < 0.3, the fixture's cut), the graded ratio, and a
 * useless "persistence" on amount. Rates come from the train rows.
 */
export async function registerBaselines(
  dataDir: string,
  rows: readonly Record<string, unknown>[],
): Promise<Record<'prior' | 'ratio_rule' | 'ratio_graded' | 'persistence', string>> {
  const registry = dataLayout(dataDir).registry;
  const train = rows.filter((r) => r.split === 'train');
  const rate = (rs: readonly Record<string, unknown>[]) => (rs.filter((r) => r[TARGET]).length + 1) / (rs.length + 2);
  const prevalence = rate(train);
  const hit = rate(train.filter((r) => (r.available_ratio as number) < 0.3));
  const miss = rate(train.filter((r) => (r.available_ratio as number) >= 0.3));
  const base = { format: 'bolsillo-baseline' as const, family: 'feature' as const, missing_probability: prevalence };
  const models = {
    prior: { format: 'bolsillo-baseline' as const, family: 'prior' as const, probability: prevalence },
    ratio_rule: {
      ...base,
      feature: 'available_ratio',
      direction: 'lower' as const,
      threshold: 0.3,
      center: 0,
      scale: 1,
      a: logit(hit) - logit(miss),
      b: logit(miss),
    },
    ratio_graded: {
      ...base,
      feature: 'available_ratio',
      direction: 'lower' as const,
      threshold: null,
      center: -0.5,
      scale: 0.29,
      a: 1.2,
      b: logit(prevalence),
    },
    persistence: {
      ...base,
      feature: 'amount',
      direction: 'higher' as const,
      threshold: 100,
      center: 0,
      scale: 1,
      a: 0.01,
      b: logit(prevalence),
    },
  };
  const out = {} as Record<keyof typeof models, string>;
  for (const [kind, m] of Object.entries(models) as [keyof typeof models, (typeof models)[keyof typeof models]][]) {
    const card = cardFor(m.family, {
      role: 'baseline',
      baseline_kind: kind,
      features: m.family === 'feature' ? [m.feature] : [],
      params: { ...m },
    });
    await writeModelVersion(registry, card, baselineArtifacts(m));
    out[kind] = card.version;
  }
  return out;
}
