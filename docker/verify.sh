#!/usr/bin/env bash
# Replays docker/Dockerfile on a fresh clone without a Docker engine, then checks the API the image
# would serve: /health, /ready (with the embedded online store), /docs (Swagger UI) and POST /predict
# with the documented example. The Dockerfile's own RUN steps check lmdb's native binding after the prune.
#
# Each instruction is replayed as Docker would run it, with /app mapped to the clone:
#   FROM   starts a stage (the clone is shared, as COPY --from=build /app /app does)
#   WORKDIR/COPY  the clone is the work dir and holds the build context
#   ENV    exported for the following steps     RUN   run with bash in the clone
#   USER   recorded (the replay runs as the current user)     HEALTHCHECK / CMD  run at the end
# A RUN preceded by the comment "# verify.sh: native-only" needs the native TensorFlow backend, which
# cannot be installed here; it is reported and skipped.
#
# Usage: bash docker/verify.sh [repo]   (default: this repository's committed HEAD)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
repo="${1:-$here}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bolsillo-verify.XXXXXX")"
app="$work/app"
port="${VERIFY_PORT:-$((18000 + RANDOM % 1000))}"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ -z "${KEEP:-}" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "verify: fresh clone of $repo into $app"
git clone -q "$repo" "$app"
dockerfile="$app/docker/Dockerfile"

# Join continuation lines, keep comments (they carry the native-only marker).
mapfile -t lines < <(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile")

native_only=0
cmd=""
healthcheck=""
step=0
cd "$app"
for raw in "${lines[@]}"; do
  line="${raw#"${raw%%[![:space:]]*}"}"
  [ -z "$line" ] && continue
  if [[ "$line" == "#"* ]]; then
    [[ "$line" == *"verify.sh: native-only"* ]] && native_only=1
    continue
  fi
  instr="${line%% *}"
  args="${line#* }"
  args="${args//\/app/$app}"
  step=$((step + 1))
  case "$instr" in
    FROM) echo "verify: [$step] FROM $args" ;;
    WORKDIR) echo "verify: [$step] WORKDIR $args"; mkdir -p "$args"; cd "$args" ;;
    COPY) echo "verify: [$step] COPY $args (the clone is the build context)" ;;
    ENV)
      echo "verify: [$step] ENV $args"
      for kv in $args; do export "${kv?}"; done
      ;;
    RUN)
      if [ "$native_only" = 1 ]; then
        echo "verify: [$step] RUN $args -- SKIPPED here (native TensorFlow cannot be installed on this machine)"
      else
        echo "verify: [$step] RUN $args"
        bash -c "$args"
      fi
      ;;
    USER) echo "verify: [$step] USER $args (replayed as $(id -un))" ;;
    EXPOSE) echo "verify: [$step] EXPOSE $args" ;;
    HEALTHCHECK) healthcheck="${args#*CMD }"; echo "verify: [$step] HEALTHCHECK recorded" ;;
    CMD) cmd="$(node -e 'process.stdout.write(JSON.parse(process.argv[1]).join(" "))' "$args")"; echo "verify: [$step] CMD $cmd" ;;
    *) echo "verify: unsupported instruction $instr"; exit 1 ;;
  esac
  native_only=0
done

[ -n "$cmd" ] || { echo "verify: no CMD in the Dockerfile"; exit 1; }
export PORT="$port"
echo "verify: starting '$cmd' on port $port"
bash -c "exec $cmd" > "$work/server.log" 2>&1 &
server_pid=$!

base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if curl -fs "$base/ready" > /dev/null 2>&1; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then echo "verify: server exited"; cat "$work/server.log"; exit 1; fi
  sleep 1
done
curl -fs "$base/ready" > /dev/null || { echo "verify: /ready never answered 200"; cat "$work/server.log"; exit 1; }

bash -c "$healthcheck" && echo "verify: HEALTHCHECK passes"
# The image's default online store is the embedded LMDB one: /ready answers only when it opened it.
ready="$(curl -fs "$base/ready")"
node -e '
  const s = JSON.parse(process.argv[1]).online_store;
  if (s?.backend !== "embedded" || !/^[0-9a-f]{16}$/.test(s.version ?? "")) process.exit(1);
  console.log(`verify: /ready serves the embedded online store (LMDB), version ${s.version}`);
' "$ready" || { echo "verify: /ready does not report the embedded online store: $ready"; exit 1; }
curl -fs "$base/docs/" | grep -qi "swagger" && echo "verify: /docs serves Swagger UI"
example="$(curl -fs "$base/openapi.json" | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    const doc = JSON.parse(s);
    const body = doc.paths["/predict"].post.requestBody.content["application/json"];
    const ex = body.example ?? Object.values(body.examples ?? {})[0]?.value ?? body.schema?.examples?.[0];
    process.stdout.write(JSON.stringify(ex));
  });')"
[ -n "$example" ] && [ "$example" != "undefined" ] || { echo "verify: no /predict example in openapi.json"; exit 1; }
answer="$(curl -fs -X POST -H 'content-type: application/json' -d "$example" "$base/predict")"
echo "verify: POST /predict -> $answer"
node -e '
  const a = JSON.parse(process.argv[1]);
  const p = a.predictions ? a.predictions[0] : a;
  if (!(p.probability >= 0 && p.probability <= 1) || typeof p.is_revenge_spending !== "boolean") process.exit(1);
  if (p.is_revenge_spending !== true) { console.error("the documented example should be revenge spending on the shipped sample"); process.exit(1); }
' "$answer" || { echo "verify: /predict answer lacks a probability and the expected label"; exit 1; }
echo "verify: OK (Dockerfile replayed, lmdb loads, API answers /health, /ready, /docs and /predict)"
