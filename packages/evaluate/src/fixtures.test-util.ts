/**
 * Test fixtures: a small generated master table and hand-built registry versions (logistic
 * layers models with chosen weights, so "better" and "worse" are known by construction).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  baselineArtifacts,
  dataLayout,
  newVersionId,
  seededRandom,
  tableFromRows,
  writeJsonAtomic,
  writeModelVersion,
  writeParquetFile,
} from '@bolsillo/core';
import { FEATURE_DECLARATIONS, MasterRowSchema, arrowSchemaFor, type ModelCard } from '@bolsillo/schema';

export const MASTER_HASH = 'testhash0001';

/** A fresh temporary data folder. */
export function tempDataDir(prefix = 'evaluate-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Master rows whose target depends on prev_available_ratio and is_essential, with label noise. */
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
      prev_available_ratio: ratio,
      is_essential: essential,
      merchant_group: essential ? 'SUPERMERCADOS' : 'VAREJO',
      is_revenge_spending: target,
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
  writeParquetFile(path.join(layout.master, hash, 'master.parquet'), tableFromRows(arrowSchemaFor(MasterRowSchema), rows));
  writeJsonAtomic(path.join(layout.master, 'latest.json'), { hash });
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
 * Register a logistic model p = sigmoid(b + wRatio·z(prev_available_ratio) + wEss·is_essential).
 * Negative wRatio and wEss fit the generated target; positive ones invert it.
 */
export async function registerLogistic(dataDir: string, wRatio: number, wEss: number, bias = -1.5): Promise<string> {
  const card = cardFor('logistic', {
    features: ['prev_available_ratio', 'is_essential'],
    preprocessing: {
      columns: [
        { name: 'prev_available_ratio', kind: 'numeric', mean: 0.5, std: 0.29, missing_indicator: false },
        { name: 'is_essential', kind: 'boolean' },
      ],
      width: 2,
      encoded_names: ['prev_available_ratio', 'is_essential'],
    },
  });
  const weights = new Float32Array([wRatio, wEss, bias]);
  await writeModelVersion(dataLayout(dataDir).registry, card, {
    modelJson: {
      format: 'layers-model',
      generatedBy: 'evaluate-test',
      convertedBy: null,
      modelTopology: { class_name: 'Sequential', config: { name: 'seq', layers: [{ class_name: 'Dense', config: { name: 'dense', units: 1, activation: 'sigmoid', use_bias: true } }] } },
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

/** Register the prior and rule baselines the way train does (declarative model.json, no weights). */
export async function registerBaselines(dataDir: string, prevalence: number): Promise<{ prior: string; rule: string }> {
  const registry = dataLayout(dataDir).registry;
  const prior = cardFor('prior', {});
  await writeModelVersion(registry, prior, baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: prevalence }));
  const rule = cardFor('rule', { features: ['prev_available_ratio', 'is_essential'] });
  await writeModelVersion(
    registry,
    rule,
    baselineArtifacts({
      format: 'bolsillo-baseline',
      family: 'rule',
      all: [
        { feature: 'prev_available_ratio', op: '<', value: 0.2 },
        { feature: 'is_essential', op: '==', value: false },
      ],
    }),
  );
  return { prior: prior.version, rule: rule.version };
}
