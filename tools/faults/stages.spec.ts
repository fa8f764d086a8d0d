/**
 * Stage-level faults (docs/reliability.md): a corrupt lake partition, a full disk. Real stage code on
 * generated MiBolsillo files; the disk is a 2 MB tmpfs (needs root), or the test says why it skipped.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataLayout, generate, listPartitions } from '@bolsillo/core';
import { runFeatures, FeaturesParamsSchema } from '@bolsillo/features';
import { runIngest } from '@bolsillo/ingest';
import { loadParams } from '@bolsillo/core';

const ROOT = path.resolve(__dirname, '../..');
const SECRET = { BOLSILLO_PSEUDONYM_SECRET: 'faults-secret' };
const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-${label}-`));

function rawFolder(rows: number): string {
  const raw = tmp('raw');
  fs.writeFileSync(path.join(raw, 'drop.csv'), generate({ rows, seed: 3, start: '2020-01-01', end: '2020-01-20' }));
  return raw;
}

function featureParams() {
  const { parquet: _p, ...params } = loadParams(path.join(ROOT, 'packages/features/params.json'), FeaturesParamsSchema);
  return params;
}

describe('a corrupt Parquet partition in the lake', () => {
  it('is refused by features, naming the file, before the online store or the manifest is written; a backfill repairs it', async () => {
    const raw = rawFolder(400);
    const data = tmp('data');
    await runIngest({ rawDir: raw, dataDir: data, env: SECRET, log: () => undefined });
    const layout = dataLayout(data);
    const victim = listPartitions(layout.lake)[3]!.files[0]!;
    const bytes = fs.readFileSync(victim);
    bytes.write('garbage', 100, 'latin1'); // a few flipped bytes in a data page can still decode
    fs.writeFileSync(victim, bytes);
    for (const full of [true, false]) {
      await expect(runFeatures({ dataDir: data, params: featureParams(), full, log: () => undefined })).rejects.toThrow(
        new RegExp(
          `lake partition\\(s\\) ${victim.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} do not match the sha256 ingest recorded .*ingest --backfill`,
        ),
      );
      expect(fs.existsSync(path.join(path.dirname(layout.featureStore), 'manifest.json'))).toBe(false);
      expect(fs.existsSync(layout.onlineStore) && fs.readdirSync(layout.onlineStore).length > 0).toBe(false);
    }
    await runIngest({ rawDir: raw, dataDir: data, backfill: true, env: SECRET, log: () => undefined });
    const r = await runFeatures({ dataDir: data, params: featureParams(), log: () => undefined });
    expect(r.rowsOut).toBeGreaterThan(0);
  });
});

// A 2 MB tmpfs: mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped with that reason.
const mountPoint = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-tmpfs-'));
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint]).status === 0;
const itMounted = mounted ? it : it.skip;
if (!mounted) process.stderr.write('disk-full test skipped: cannot mount a tmpfs here (needs root)\n');

describe('a full disk', () => {
  afterAll(() => {
    if (mounted) spawnSync('umount', [mountPoint]);
    fs.rmSync(mountPoint, { recursive: true, force: true });
  });

  itMounted(
    'makes ingest fail naming ENOSPC, leaves no partial partition or manifest, and the next run on a bigger disk succeeds',
    async () => {
      const raw = rawFolder(60_000); // about 5 MB of Parquet: more than the 2 MB disk
      const data = path.join(mountPoint, 'data');
      await expect(runIngest({ rawDir: raw, dataDir: data, env: SECRET, log: () => undefined })).rejects.toThrow(
        /ENOSPC|no space left/i,
      );
      const layout = dataLayout(data);
      expect(fs.existsSync(layout.ingestManifest)).toBe(false);
      // Partitions are written under temporary names and renamed: none is half-written.
      const leftovers = (fs.readdirSync(data, { recursive: true }) as string[]).filter((f) => /\.tmp|\.spill/.test(f));
      expect(leftovers).toEqual([]);
      const bigger = tmp('bigger');
      const ok = await runIngest({ rawDir: raw, dataDir: bigger, env: SECRET, log: () => undefined });
      expect(ok.rowsOut).toBeGreaterThan(50_000);
    },
  );
});
