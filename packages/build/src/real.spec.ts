import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJson, readParquetFile } from '@bolsillo/core';
import type { QualityReport } from './quality';
import type { LeakageReport } from './leakage';
import { runBuild } from './run';
import { itRealData, realDataPath } from '@bolsillo/testing';
import type { TargetSummary } from './build';

const REFERENCE = path.resolve(__dirname, '../../../../shared/data/reference/minimo_mlops_master_table.csv');
const ROOT = path.resolve(__dirname, '../../..');
// Upstream stages may not be imported by a stage (module boundaries), so their CLIs run as child processes.
const UPSTREAM = ['packages/ingest/src/cli.ts', 'packages/features/src/cli.ts'].map((f) => path.join(ROOT, f));

/** Everything the upstream output depends on: the real file and the sources and params of ingest, features, core and schema. */
function upstreamKey(): string {
  const h = crypto.createHash('sha256');
  h.update(fs.readFileSync(realDataPath()));
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) return e.name === 'node_modules' ? [] : walk(p);
      return /\.(ts|json)$/.test(e.name) && !e.name.endsWith('.spec.ts') ? [p] : [];
    });
  for (const dir of ['packages/ingest', 'packages/features', 'packages/core/src', 'packages/schema/src']) {
    for (const file of walk(path.join(ROOT, dir)).sort())
      h.update(`${path.relative(ROOT, file)}\n`).update(fs.readFileSync(file));
  }
  return h.digest('hex').slice(0, 24);
}

/**
 * The feature store of the real file, made by the upstream CLIs once per upstream version and kept
 * under the machine's temp folder (never in the repository; BOLSILLO_TEST_CACHE_DIR, set by the Jest
 * global setup, is the temp folder that outlives one test run): re-runs of this file skip ingest and
 * features while the build itself always runs from scratch.
 */
function realFeatureStore(): string {
  const cacheRoot = process.env.BOLSILLO_TEST_CACHE_DIR ?? os.tmpdir();
  const cache = path.join(cacheRoot, 'bolsillo-build-real-upstream', upstreamKey());
  if (fs.existsSync(path.join(cache, 'feature-store'))) return path.join(cache, 'feature-store');
  const work = fs.mkdtempSync(path.join(cacheRoot, 'build-real-upstream-'));
  const env = { ...process.env, RAW_DIR: path.dirname(realDataPath()), DATA_DIR: work };
  for (const cli of UPSTREAM)
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), cli], {
      cwd: ROOT,
      env,
      stdio: 'pipe',
    });
  fs.mkdirSync(cache, { recursive: true });
  try {
    fs.renameSync(path.join(work, 'feature-store'), path.join(cache, 'feature-store'));
  } catch (error) {
    // Another worker filled the cache first: use theirs.
    if (!fs.existsSync(path.join(cache, 'feature-store'))) throw error;
  }
  fs.rmSync(work, { recursive: true, force: true });
  // Older upstream versions are never read again: keep only the current one.
  for (const old of fs.readdirSync(path.dirname(cache)))
    if (old !== path.basename(cache)) fs.rmSync(path.join(path.dirname(cache), old), { recursive: true, force: true });
  return path.join(cache, 'feature-store');
}

describe('build on the real file', () => {
  itRealData(
    'pins the flag at 479 (465 under the rounded rule), labels snapshots, passes quality and leakage, keeps customers in one split, hashes stably',
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'build-real-'));
      fs.cpSync(realFeatureStore(), path.join(dataDir, 'feature-store'), { recursive: true });

      const a = await runBuild({ dataDir });
      const manifest = readJson<{ target: TargetSummary }>(path.join(a.dir, 'manifest.json'));
      expect(manifest.target.flag.flagged).toBe(479);
      expect(
        manifest.target.flag.flagged + manifest.target.flag.not_flagged + manifest.target.flag.excluded.total,
      ).toBe(4955);
      // One master row per customer-day whose 7-day horizon ends inside the data (2020-05-07).
      expect(manifest.target.rows_out + manifest.target.censored).toBe(manifest.target.snapshots);
      expect(manifest.target.data_end).toBe('2020-05-07');
      expect(manifest.target.positives).toBeGreaterThan(0);
      expect(manifest.target.customers).toBe(29);
      // The prototype's table rounds the percentage first: our rounded rule must reproduce its count.
      if (fs.existsSync(REFERENCE)) {
        const lines = fs.readFileSync(REFERENCE, 'latin1').trim().split(/\r?\n/);
        const col = lines[0]!.split(';').indexOf('is_revenge_spending');
        const reference = lines.slice(1).filter((l) => l.split(';')[col]!.trim() === '1').length;
        expect(manifest.target.flag.positives_rounded_rule).toBe(reference);
      }

      const quality = readJson<QualityReport>(path.join(a.dir, 'quality.json'));
      expect(quality.success).toBe(true);
      expect(quality.failed_errors).toEqual([]);

      const leakage = readJson<LeakageReport>(path.join(a.dir, 'leakage.json'));
      expect(leakage.passed).toBe(true);
      const selection = readJson<{ features: string[] }>(path.join(a.dir, 'selection.json'));
      // The current headroom is a legitimate forecast feature; the row-level ratio is not a model feature.
      expect(selection.features).toContain('day_min_available_ratio');
      expect(selection.features).not.toContain('available_ratio');

      const master = readParquetFile(path.join(a.dir, 'master.parquet'), { columns: ['group', 'split'] });
      const groups = master.getChild('group')!.toArray() as string[];
      const splits = master.getChild('split')!.toArray() as string[];
      const seen = new Map<string, string>();
      groups.forEach((g, i) => {
        expect(seen.get(g) ?? splits[i]).toBe(splits[i]);
        seen.set(g, splits[i]!);
      });

      const b = await runBuild({ dataDir });
      expect(b.hash).toBe(a.hash);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
    240_000,
  );
});
