#!/usr/bin/env tsx
import { runCli } from '@bolsillo/core';
import { ingestLanding } from './landing';
import { runIngest } from './run';

void runCli({
  name: 'ingest',
  description:
    'Parse the MiBolsillo CSV files of RAW_DIR, validate and quarantine bad rows, pseudonymise customers ' +
    '(secret from BOLSILLO_PSEUDONYM_SECRET) and write Hive-partitioned Parquet to DATA_DIR/lake/transactions. ' +
    'Incremental: only new or changed files are processed. Then the landing folder (DATA_DIR/landing: transactions pushed over HTTP ' +
    'or the stream) goes into the lake as date=*/landing-0.parquet, each transaction id once.',
  options: {
    backfill: { type: 'boolean', description: 'Rebuild the whole lake from all files.', default: false },
  },
  run: async ({ rawDir, dataDir, values, log }) => {
    const r = await runIngest({ rawDir, dataDir, backfill: values.backfill === true, log });
    const landing = ingestLanding(dataDir, log);
    return { ...r, summary: { ...r.summary, landing } };
  },
});
