#!/usr/bin/env tsx
import { runCli } from '@bolsillo/core';
import { runIngest } from './run';

void runCli({
  name: 'ingest',
  description:
    'Parse the MiBolsillo CSV files of RAW_DIR, validate and quarantine bad rows, pseudonymise customers ' +
    '(secret from BOLSILLO_PSEUDONYM_SECRET) and write Hive-partitioned Parquet to DATA_DIR/lake/transactions. ' +
    'Incremental: only new or changed files are processed.',
  options: {
    backfill: { type: 'boolean', description: 'Rebuild the whole lake from all files.', default: false },
  },
  run: ({ rawDir, dataDir, values, log }) => runIngest({ rawDir, dataDir, backfill: values.backfill === true, log }),
});
