#!/usr/bin/env bash
# Evaluate before/after on one prepared DATA_DIR (ingest, features, build and train already run):
# each side runs `evaluate` from its own source tree on the same registry state, its outputs
# (reports/, registry/) are kept, and the two are compared file by file with ISO timestamps left out.
# Timings: /usr/bin/time (wall, user, sys, peak RSS) and the stage's own record (monitoring/runs.jsonl).
#
# Usage: bench/evaluate-before-after.sh <before-src> <after-src> <data-dir> <out-dir>
#   <before-src>: a source tree of the old code, e.g. `git archive <commit> | tar -x -C /tmp/before`
#   with node_modules linked to this checkout's. Benches go one at a time, high priority (docs/bench-evaluate.md):
#   flock /work/wt/bench.lock setsid bash -c 'echo -20 > /proc/self/autogroup; exec bench/evaluate-before-after.sh …'
set -euo pipefail
before=$1 after=$2 data=$3 out=$4
mkdir -p "$out"
# Every run starts from the registry as train left it (evaluate writes decisions and moves aliases).
[ -d "$data/.registry-before-evaluate" ] || cp -a "$data/registry" "$data/.registry-before-evaluate"
run() { # <label> <src>
  rm -rf "$data/registry" "$data/reports" "$out/$1"
  cp -a "$data/.registry-before-evaluate" "$data/registry"
  mkdir -p "$out/$1"
  echo "[$1] load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$2" && DATA_DIR=$data /usr/bin/time -f "[$1] %e s wall, %U s user, %S s sys, %M KB peak RSS" \
    node --import tsx packages/evaluate/src/cli.ts >"$out/$1/log" 2>&1) || { tail -20 "$out/$1/log"; exit 1; }
  tail -1 "$out/$1/log"
  echo "[$1] load $(cut -d' ' -f1-3 /proc/loadavg)"
  tail -1 "$data/monitoring/runs.jsonl" >"$out/$1/run.json"
  cp -a "$data/reports" "$out/$1/reports"
  cp -a "$data/registry" "$out/$1/registry"
}
run before "$before"
run after "$after"
norm() { sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/<time>/g' "$1"; }
status=0
while IFS= read -r f; do
  if [ ! -e "$out/after/$f" ] || ! cmp -s <(norm "$out/before/$f") <(norm "$out/after/$f"); then
    echo "differs: $f"
    status=1
  fi
done < <(cd "$out/before" && find reports registry -type f | sort)
[ "$status" = 0 ] && echo "outputs identical ($(cd "$out/before" && find reports registry -type f | wc -l) files, timestamps aside)"
exit "$status"
