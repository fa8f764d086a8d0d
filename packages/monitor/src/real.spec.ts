import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_DECLARATIONS } from '@bolsillo/schema';
import { computeDrift, profileFromColumns } from './drift';
import { driftParamsOf } from './params';
import { runMonitor } from './run';
import {
  featureRowsFromCsv,
  shippedConfig,
  tempDataDir,
  removeTempDataDirs,
  writeFeatureStore,
  writeReference,
} from './scenario.test-util';
import { itRealData, realDataPath } from '@bolsillo/testing';

const CUT = '2020-02-29';

describe('monitor on the real MiBolsillo file', () => {
  afterAll(removeTempDataDirs);
  itRealData('compares the last months with the earlier ones, sized to 29 clustered customers', async () => {
    const rows = featureRowsFromCsv(fs.readFileSync(realDataPath()));
    expect(rows).toHaveLength(4955);
    const { params, policy } = shippedConfig();
    const reference = rows.filter((r) => r.date <= CUT);

    // The reference against its own profile: the stored-bin convention matches, nothing drifts.
    const kinds = Object.fromEntries(
      FEATURE_DECLARATIONS.map((d) => [
        d.name,
        d.dtype === 'number' || d.dtype === 'integer' ? ('numeric' as const) : ('categorical' as const),
      ]),
    );
    const columns = Object.fromEntries(
      Object.keys(kinds).map((k) => [k, reference.map((r) => (r as Record<string, unknown>)[k])]),
    );
    const self = computeDrift(
      profileFromColumns(columns, kinds, 20),
      columns,
      driftParamsOf(params),
      reference.map((r) => r.customer_key),
    );
    expect(self.features.filter((f) => f.drifted || f.psi > f.psiThreshold)).toEqual([]);

    const dir = tempDataDir('real');
    writeReference(dir, reference);
    writeFeatureStore(
      dir,
      rows.filter((r) => r.date > CUT),
    );
    const s = await runMonitor({
      dataDir: dir,
      params,
      policy,
      dryRun: true,
      allowRetrain: false,
      now: new Date('2020-05-08T00:00:00Z'),
      log: () => undefined,
    });
    expect(s.drift.window).toMatchObject({ kind: 'new-partitions', rows: rows.filter((r) => r.date > CUT).length });
    const features = s.drift.result!.features;
    expect(features.map((f) => f.feature).sort()).toEqual(
      FEATURE_DECLARATIONS.map((d) => d.name)
        .filter((n) => !params.drift.exclude.includes(n))
        .sort(),
    );
    for (const f of features) expect(Number.isFinite(f.statistic) && Number.isFinite(f.psi)).toBe(true);
    // Age is a customer attribute: its design effect is about the rows per customer in the window.
    const age = features.find((f) => f.feature === 'age')!;
    expect(age.designEffect).toBeGreaterThan(5);
    expect(fs.existsSync(path.join(dir, 'monitoring', 'state.json'))).toBe(false);
  });
});
