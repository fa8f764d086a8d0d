/**
 * Test fixtures: feature rows from the core generator (a minimal reading of its MiBolsillo CSV, then
 * the shared feature kernel), and a data folder with a master reference, feature-store partitions
 * and a registry written through core functions.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  computeFeatures,
  emptyCustomerState,
  foldCustomerState,
  generate,
  partitionDir,
  tableFromRows,
  writeJsonAtomic,
  writeParquetFile,
  type CustomerState,
  type FeatureInput,
  type GenerateOptions,
} from '@bolsillo/core';
import { baselineArtifacts, promote, writeModelVersion, type RuleCondition } from '@bolsillo/model';
import {
  FEATURE_DECLARATIONS,
  FeatureRowSchema,
  MasterRowSchema,
  arrowSchemaFor,
  type FeatureRow,
  type ModelCard,
} from '@bolsillo/schema';
import { profileFromColumns } from './drift';
import type { MonitorParams } from './params';
import type { Policy } from './policy';

function isoDate(d: string): string {
  const [day, month, year] = d.trim().split('.');
  return `${year}-${month!.padStart(2, '0')}-${day!.padStart(2, '0')}`;
}

function amountOf(s: string): number | null {
  const t = s.trim();
  if (!t || t === '-') return null;
  return Number(t.replace(/\./g, '').replace(',', '.'));
}

/** Feature rows (point in time, per customer in date order) of a generated dataset. */
export function generatedFeatureRows(options: GenerateOptions): FeatureRow[] {
  return featureRowsFromCsv(generate(options));
}

/** Feature rows of a MiBolsillo-dialect CSV (the generator's or the real file). */
export function featureRowsFromCsv(bytes: Buffer): FeatureRow[] {
  const text = bytes.toString('latin1').replace(/\x82/g, 'Ç');
  const lines = text
    .split(/\r?\n/)
    .slice(1)
    .filter((l) => l.trim());
  const txns = lines.map((line, i) => {
    const f = line.split(';');
    const identity = [f[0], f[1], f[2], f[3], f[4], f[5]].map((x) => x!.trim()).join('|');
    const input: FeatureInput = {
      customer_key: crypto.createHash('sha256').update(identity).digest('hex'),
      account_cohort: f[1]!.trim(),
      city: f[2]!.trim(),
      state: f[3]!.trim(),
      age: Number(f[4]),
      sex: f[5]!.trim() as 'F' | 'M',
      credit_limit: Number(f[6]),
      available_limit: Number(f[7]),
      date: isoDate(f[8]!),
      amount: amountOf(f[9]!),
      merchant_group: f[10]!.trim(),
      merchant_city: f[11]!.trim() || null,
      merchant_country: f[12]!.trim() || null,
    };
    return { input, txn_id: `gen.csv#${i + 2}`, line: i };
  });
  txns.sort(
    (a, b) =>
      a.input.customer_key.localeCompare(b.input.customer_key) ||
      a.input.date.localeCompare(b.input.date) ||
      a.line - b.line,
  );
  const states = new Map<string, CustomerState>();
  const rows: FeatureRow[] = [];
  for (const t of txns) {
    const state = states.get(t.input.customer_key) ?? emptyCustomerState();
    const values = computeFeatures(t.input, state, DEFAULT_FEATURE_PARAMS);
    rows.push({ txn_id: t.txn_id, customer_key: t.input.customer_key, date: t.input.date, ...values } as FeatureRow);
    states.set(t.input.customer_key, foldCustomerState(state, t.input));
  }
  return rows.sort((a, b) => a.date.localeCompare(b.date) || a.txn_id.localeCompare(b.txn_id));
}

/** The target, same rule as build: available ratio below 0.2 and a non-essential group. */
export function targetOf(r: FeatureRow): boolean {
  return r.available_ratio !== null && r.available_ratio < 0.2 && !r.is_essential;
}

const created: string[] = [];

/** A fresh temporary data folder (removed by {@link removeTempDataDirs}). */
export function tempDataDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `monitor-${name}-`));
  created.push(dir);
  return dir;
}

/** Remove the folders {@link tempDataDir} created in this test file. */
export function removeTempDataDirs(): void {
  for (const dir of created.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** Write a master reference (master.parquet, profile.json, latest.json) from feature rows, as build lays it out. */
export function writeReference(dataDir: string, rows: readonly FeatureRow[]): string {
  const hash = crypto
    .createHash('sha256')
    .update(`${rows.length}:${rows[0]?.txn_id}:${rows[rows.length - 1]?.txn_id}`)
    .digest('hex');
  const dir = path.join(dataDir, 'master', hash);
  const master = rows.map((r, i) => ({
    ...r,
    revenge_in_horizon: targetOf(r),
    group: r.customer_key,
    split: i % 5 === 0 ? 'test' : 'train',
    fold: i % 5 === 0 ? -1 : i % 3,
  }));
  fs.mkdirSync(dir, { recursive: true });
  writeParquetFile(path.join(dir, 'master.parquet'), tableFromRows(arrowSchemaFor(MasterRowSchema), master));
  const kinds = Object.fromEntries(
    FEATURE_DECLARATIONS.map((d) => [
      d.name,
      d.dtype === 'number' || d.dtype === 'integer' ? ('numeric' as const) : ('categorical' as const),
    ]),
  );
  const columns = Object.fromEntries(
    Object.keys(kinds).map((k) => [k, master.map((r) => (r as Record<string, unknown>)[k])]),
  );
  writeJsonAtomic(path.join(dir, 'profile.json'), profileFromColumns(columns, kinds, 20, hash));
  writeJsonAtomic(path.join(dataDir, 'master', 'latest.json'), { hash });
  return hash;
}

/** Write feature-store partitions (one per date). */
export function writeFeatureStore(dataDir: string, rows: readonly FeatureRow[]): string[] {
  const byDate = new Map<string, FeatureRow[]>();
  for (const r of rows) byDate.set(r.date, [...(byDate.get(r.date) ?? []), r]);
  const schema = arrowSchemaFor(FeatureRowSchema);
  for (const [date, list] of byDate)
    writeParquetFile(
      path.join(partitionDir(path.join(dataDir, 'feature-store', 'transactions'), date), 'part-0.parquet'),
      tableFromRows(schema, list),
    );
  return [...byDate.keys()].sort();
}

function card(version: string, all: readonly RuleCondition[], prAuc: number): ModelCard {
  return {
    version,
    created_at: '2020-03-01T00:00:00.000Z',
    family: 'rule',
    features: [...new Set(all.map((c) => c.feature))],
    preprocessing: {},
    calibration: { method: 'none' },
    threshold: 0.5,
    master_hash: 'test',
    params: { all },
    cv: {},
    metrics: { pr_auc: prAuc },
    training_seconds: 0,
    backend: 'none',
    code_version: 'test',
  };
}

/** Rule models for the registry scenarios. `good` scores the target's own rule; `poor` a rule unrelated to it. */
export const RULES = {
  good: [
    { feature: 'day_min_available_ratio', op: '<', value: 0.25 },
    { feature: 'is_essential', op: '==', value: false },
  ] as RuleCondition[],
  poor: [{ feature: 'age', op: '>', value: 45 }] as RuleCondition[],
};

/** Register a rule model through core and return its version. */
export async function registerRule(
  dataDir: string,
  version: string,
  all: readonly RuleCondition[],
  prAuc: number,
  valueMatrix = { tp: 50, fp: -5, fn: -20, tn: 0 },
): Promise<string> {
  const registry = path.join(dataDir, 'registry');
  await writeModelVersion(
    registry,
    card(version, all, prAuc),
    baselineArtifacts({ format: 'bolsillo-baseline', family: 'rule', all: [...all] }),
    {
      'decision.json': JSON.stringify({ threshold: 0.5, objective: 'value', value_matrix: valueMatrix }),
    },
  );
  return version;
}

/** Promote through core (what evaluate does). */
export function promoteVersion(dataDir: string, version: string): void {
  promote(path.join(dataDir, 'registry'), version, 'test setup');
}

/** Params and policy files as shipped (read from the package). */
export function shippedConfig(): { params: MonitorParams; policy: Policy } {
  const root = path.resolve(__dirname, '..');
  return {
    params: JSON.parse(fs.readFileSync(path.join(root, 'params.json'), 'utf8')),
    policy: JSON.parse(fs.readFileSync(path.join(root, 'policy.json'), 'utf8')),
  };
}
