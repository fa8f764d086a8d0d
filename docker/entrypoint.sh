#!/bin/sh
# Container start. RUN_PIPELINE_ON_START:
#   auto (default)  run the pipeline first only when the raw folder (RAW_DIR, e.g. a mounted data
#                   folder) differs from what the image (or the last start) processed
#   always / never  as named
# then serve the champion model. Stages are incremental: unchanged raw files are not re-ingested.
set -e
cd "$(dirname "$0")/.."
TSX="node node_modules/tsx/dist/cli.mjs"
mode="${RUN_PIPELINE_ON_START:-auto}"
stamp="${DATA_DIR:-data}/.raw-fingerprint"
current="$(node tools/fingerprint-raw.js)"
run=no
if [ "$mode" = always ]; then run=yes; fi
if [ "$mode" = auto ] && [ "$current" != "$(cat "$stamp" 2>/dev/null || true)" ]; then run=yes; fi
if [ "$run" = yes ]; then
  echo "[entrypoint] running the pipeline on ${RAW_DIR:-data/raw}"
  for stage in ingest features build train evaluate monitor; do
    $TSX "packages/$stage/src/cli.ts"
  done
  printf '%s\n' "$current" > "$stamp"
fi
exec $TSX apps/api/src/main.ts
