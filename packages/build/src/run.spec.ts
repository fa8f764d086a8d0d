import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson, readParquetFile, rowsFromTable } from '@bolsillo/core';
import { FEATURE_NAMES, TARGET, validatorFor, ProfileSchema, type MasterRow, type Profile } from '@bolsillo/schema';
import { generateFeatureRows, writeFeatureStore } from './fixtures.test-util';
import type { BuildParams } from './params';
import { DEFAULT_PARAMS_FILE, runBuild } from './run';

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function paramsWith(dir: string, patch: (p: BuildParams) => void): string {
  const p = readJson<BuildParams>(DEFAULT_PARAMS_FILE);
  patch(p);
  const file = path.join(dir, 'params.json');
  fs.writeFileSync(file, JSON.stringify(p));
  return file;
}

describe('runBuild on a generated feature store', () => {
  const dataDir = tmp('build-run-');
  const rows = generateFeatureRows({ customers: 20, perCustomer: 25 });
  writeFeatureStore(dataDir, rows);
  const asOf = rows
    .map((r) => r.date)
    .sort()
    .at(-1)!;

  it('writes master/<hash>/ with every artefact, then latest.json; same inputs give the same hash', async () => {
    const a = await runBuild({ dataDir, asOf });
    const latest = readJson<{ hash: string }>(path.join(dataDir, 'master', 'latest.json'));
    expect(latest.hash).toBe(a.hash);
    expect(fs.readdirSync(a.dir).sort()).toEqual(
      [
        'leakage.json',
        'manifest.json',
        'master.parquet',
        'profile.json',
        'quality.json',
        'report.md',
        'selection.json',
        'splits.json',
      ].sort(),
    );
    const master = rowsFromTable<MasterRow>(readParquetFile(path.join(a.dir, 'master.parquet')));
    // One row a customer-day in the fixture, so every row is a snapshot; those within the 7-day
    // horizon of the last date are censored.
    const last = rows
      .map((r) => r.date)
      .sort()
      .at(-1)!;
    const censored = rows.filter((r) => (Date.parse(last) - Date.parse(r.date)) / 86_400_000 < 7).length;
    expect(censored).toBeGreaterThan(0);
    expect(master).toHaveLength(rows.length - censored);
    const ids = master.map((r) => `${r.date}|${r.txn_id}`);
    expect(ids).toEqual([...ids].sort());
    expect(master.every((r) => r.group === r.customer_key && (r.split === 'train') === r.fold >= 0)).toBe(true);

    const profile = readJson<Profile>(path.join(a.dir, 'profile.json'));
    expect(validatorFor(ProfileSchema)(profile)).toBe(true);
    expect(Object.keys(profile.columns).sort()).toEqual([...FEATURE_NAMES, TARGET].sort());
    const amount = profile.columns.amount!;
    expect(amount.kind === 'numeric' && amount.bin_edges.length === amount.bin_counts.length + 1).toBe(true);

    const selection = readJson<{ features: string[] }>(path.join(a.dir, 'selection.json'));
    expect(selection.features).not.toContain('available_ratio');
    const manifest = readJson<{ content_hash: string; inputs: unknown[]; code_version: string }>(
      path.join(a.dir, 'manifest.json'),
    );
    expect(manifest.inputs).toHaveLength(new Set(rows.map((r) => r.date)).size);

    const b = await runBuild({ dataDir, asOf });
    expect(b.hash).toBe(a.hash);
    expect(readJson<{ content_hash: string }>(path.join(b.dir, 'manifest.json')).content_hash).toBe(
      manifest.content_hash,
    );
  });

  it('gives a new hash when params or inputs change', async () => {
    const base = await runBuild({ dataDir, asOf });
    const seeded = await runBuild({
      dataDir,
      asOf,
      paramsFile: paramsWith(tmp('build-params-'), (p) => (p.split.seed = 7)),
    });
    expect(seeded.hash).not.toBe(base.hash);
    const other = tmp('build-run2-');
    writeFeatureStore(
      other,
      rows.map((r, i) => (i === 0 ? { ...r, amount: (r.amount ?? 0) + 1 } : r)),
    );
    const changed = await runBuild({ dataDir: other, asOf });
    expect(changed.hash).not.toBe(base.hash);
  });

  it('stops on a failed error expectation and on a leaking model feature, naming them', async () => {
    const bad = tmp('build-bad-');
    writeFeatureStore(
      bad,
      rows.map((r, i) => (i < 5 ? { ...r, age: 3 } : r)),
    );
    await expect(runBuild({ dataDir: bad, asOf })).rejects.toThrow(/between\(age\)/);
    expect(readJson<{ message: string }>(path.join(bad, 'master', 'last-failure.json')).message).toMatch(
      /between\(age\)/,
    );
    expect(fs.existsSync(path.join(bad, 'master', 'latest.json'))).toBe(false);
    // A model feature whose power alone exceeds the bar needs a stated reason in the allow-list.
    const leaky = paramsWith(tmp('build-params-'), (p) => {
      p.leakage.max_single_feature_auc = 0.6;
      p.leakage.allow = {};
    });
    await expect(runBuild({ dataDir, asOf, paramsFile: leaky })).rejects.toThrow(
      /leakage check failed: [a-z_0-9]+: alone reaches AUC 0\.\d+ on train \(> 0\.6\)/,
    );
  });
});
