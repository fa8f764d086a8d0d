#!/bin/sh
# Container start: if a data folder with new raw CSV files is mounted (RAW_DIR), run the pipeline on
# it first (incremental: unchanged files are skipped), then serve the champion model.
set -e
cd "$(dirname "$0")/.."
TSX="node node_modules/tsx/dist/cli.mjs"
if [ "${RUN_PIPELINE_ON_START:-auto}" != "never" ] && ls "${RAW_DIR:-data/raw}"/*.csv >/dev/null 2>&1; then
  for stage in ingest features build train evaluate monitor; do
    $TSX "packages/$stage/src/cli.ts"
  done
fi
exec $TSX apps/api/src/main.ts
