#!/usr/bin/env bash
# Ingest on one machine, three ways over the same raw folder (docs/bench-ingest.md, "One process writing
# N parts"): one process (the whole stage), `ingest --parts N` (one parse, the lake of N shards), and
# N shard processes, `at` at a time, then `--merge`. Each from an empty data folder; /usr/bin/time gives
# wall, user+sys CPU and peak RSS of each process (for the shards: wall of the whole, CPU summed, the
# largest peak). The lakes of --parts and of the shards are then compared file by file (sha256).
#
# Usage: bench/ingest-parts.sh <raw-dir> <work-dir> [N=8] [at=2]
# Benches go one at a time, high priority:
#   flock /work/wt/bench.lock setsid bash -c 'echo -20 > /proc/self/autogroup; exec bench/ingest-parts.sh …'
set -euo pipefail
raw=$(realpath "$1") work=$2 n=${3:-8} at=${4:-2}
export RAW_DIR=$raw BOLSILLO_PSEUDONYM_SECRET=${BOLSILLO_PSEUDONYM_SECRET:-bench-ingest-parts}
mkdir -p "$work"
rows=$(($(wc -l <"$raw"/*.csv | tail -1) - 1))
cli=(node --import tsx packages/ingest/src/cli.ts)
# One process under /usr/bin/time: prints "wall cpu peak_mb" to $work/<label>.time, its output to .log.
timed() { # <label> <data> <args...>
  local label=$1 data=$2
  shift 2
  DATA_DIR=$data /usr/bin/time -o "$work/$label.time" -f '%e %U %S %M' "${cli[@]}" "$@" >"$work/$label.log" 2>&1 ||
    { tail -20 "$work/$label.log"; exit 1; }
}
report() { # <label> <wall> <cpu> <peak_mb>
  printf '| %s | %.1f | %.1f | %s | %s |\n' "$1" "$2" "$3" "$(printf '%.0f' "$(echo "$rows / $2" | bc -l)")" "$4"
}
one() { # <label>: wall, cpu, peak of one timed process
  awk '{ printf "%s %.2f %.0f", $1, $2 + $3, $4 / 1024 }' "$work/$1.time"
}
echo "rows $rows, $(du -m "$raw" | cut -f1) MB of CSV; load $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo '| run | wall s | CPU s | rows/s (wall) | peak RSS MB |'
echo '|---|---:|---:|---:|---:|'

rm -rf "$work/whole" && timed whole "$work/whole"
read -r w c m <<<"$(one whole)" && report 'one process' "$w" "$c" "$m" && rm -rf "$work/whole"

rm -rf "$work/parts" && timed parts "$work/parts" --parts "$n"
read -r w c m <<<"$(one parts)" && report "\`--parts $n\`" "$w" "$c" "$m"

rm -rf "$work/shards"
t0=$(date +%s.%N)
for ((i = 0; i < n; i += at)); do
  for ((j = i; j < i + at && j < n; j++)); do timed "shard-$j" "$work/shards" --shard "$j/$n" & done
  wait
done
timed merge "$work/shards" --merge --shards "$n"
wall=$(echo "$(date +%s.%N) - $t0" | bc -l)
cpu=$(cat "$work"/shard-*.time "$work/merge.time" | awk '{ s += $2 + $3 } END { printf "%.2f", s }')
peak=$(cat "$work"/shard-*.time "$work/merge.time" | awk '$4 > m { m = $4 } END { printf "%.0f", m / 1024 }')
report "$n shards ($at at a time) + merge" "$wall" "$cpu" "$peak"
echo "load $(cut -d' ' -f1-3 /proc/loadavg) at the end"

sums() { (cd "$1/lake" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
if diff <(sums "$work/parts") <(sums "$work/shards") >/dev/null; then
  echo "lake of --parts $n = lake of $n shards + merge: $(sums "$work/parts" | wc -l) files, byte for byte"
else
  echo "lakes differ:" && diff <(sums "$work/parts") <(sums "$work/shards") | head -20 && exit 1
fi
rm -rf "$work/parts" "$work/shards"
