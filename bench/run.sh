#!/usr/bin/env bash
# The benchmark of eclean-realtime (DESIGN §6): release builds, PostgreSQL and Redis on this
# machine, the server as real processes, `eclean-load` as the client. Every scenario runs RUNS
# times; each run's JSON line goes to $OUT/results.jsonl, and $OUT/summary.md gets the medians.
#
#   bench/run.sh                 # everything, at the DESIGN sizes (about an hour with the soak)
#   SCENARIOS="fanout rooms" RUNS=1 DURATION_S=10 bench/run.sh    # a quick look
#
# Sizes and times are environment variables (see the defaults below).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
SCENARIOS=${SCENARIOS:-"connections fanout rooms cross-node cluster soak"}
DURATION_S=${DURATION_S:-30}
CONN_SESSIONS=${CONN_SESSIONS:-19000}
CONN_RATE=${CONN_RATE:-300}                   # connects/s; the machine opens ~380/s with PostgreSQL (see docs)
FANOUT_SUBSCRIBERS=${FANOUT_SUBSCRIBERS:-100}
FANOUT_RATE=${FANOUT_RATE:-1000}
ROOMS=${ROOMS:-500}
ROOMS_RATE=${ROOMS_RATE:-2}
CLUSTER_INSTANCES=${CLUSTER_INSTANCES:-6}
CLUSTER_SESSIONS=${CLUSTER_SESSIONS:-100000}
CLUSTER_RATE=${CLUSTER_RATE:-45}              # connects/s per instance (the machine opens ~380/s in all)
CLUSTER_POOL=${CLUSTER_POOL:-12}              # database connections per instance: 6 × 12 of max_connections 100
CLUSTER_FANOUT_RATE=${CLUSTER_FANOUT_RATE:-100}  # msg/s of the delivery check while everyone is connected
SOAK_ROOMS=${SOAK_ROOMS:-5000}
SOAK_RATE=${SOAK_RATE:-0.05}
SOAK_S=${SOAK_S:-1800}
BASE_PORT=${BASE_PORT:-18100}
SECRET=bench-secret-with-at-least-thirty-two-bytes-of-entropy
OUT=${OUT:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)}
DB=eclean_bench
PG_ADMIN=postgres://postgres@127.0.0.1:5432/postgres
DATABASE_URL=postgres://postgres@127.0.0.1:5432/$DB
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}

mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
echo "# file descriptors per process: $(ulimit -n)" >&2

cargo build --release -p server -p loadgen
SERVER=target/release/eclean-realtime
LOAD=target/release/eclean-load

PIDS=()
cleanup() { for pid in "${PIDS[@]:-}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

fresh_database() {
  psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
  psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
}

# start_instance N: the server on BASE_PORT+N, sharing the database and a run-wide Redis prefix.
start_instance() {
  local n=$1 port=$((BASE_PORT + $1))
  env -i PATH="$PATH" HOME="$HOME" \
    DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" JWT_SECRET="$SECRET" \
    APP_SERVER__PORT="$port" APP_LOG__FILTER=warn APP_REDIS__KEY_PREFIX="$PREFIX" \
    APP_WS__MAX_SESSIONS_PER_USER=100 APP_WS__RATE_PER_S=100000 APP_WS__RATE_BURST=100000 \
    APP_CHAT__USER_MESSAGES_PER_S=100000 APP_WS__ALLOWED_ORIGINS='["*"]' ${INSTANCE_ENV:-} \
    "$SERVER" serve >"$OUT/server-$n.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$n=$!"
  for _ in $(seq 1 100); do
    env -i PATH="$PATH" "$SERVER" probe --url "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "instance $n did not become ready; see $OUT/server-$n.log" >&2
  exit 1
}

stop_instances() { cleanup; PIDS=(); }

# record SCENARIO RUN JSON: appends one result line.
record() { jq -c --arg scenario "$1" --argjson run "$2" '. + {bench: $scenario, run: $run}' <<<"$3" >>"$OUT/results.jsonl"; echo "$3" >&2; }

load() { "$LOAD" --jwt-secret "$SECRET" "$@"; }

for run in $(seq 1 "$RUNS"); do
  for scenario in $SCENARIOS; do
    PREFIX="bench:$scenario:$run:$(date +%s):"
    base=$(( (run * 10 + ${#scenario}) * 1000000 ))
    fresh_database
    case $scenario in
      connections)
        start_instance 1
        record connections "$run" "$(load --server "127.0.0.1:$((BASE_PORT + 1))" --server-pid "$PID_1" --sources 4 \
          --user-base "$base" --connect-rate "$CONN_RATE" connections --sessions "$CONN_SESSIONS" --hold-s 15)"
        ;;
      fanout)
        start_instance 1
        record fanout "$run" "$(load --server "127.0.0.1:$((BASE_PORT + 1))" --server-pid "$PID_1" --user-base "$base" \
          fanout --subscribers "$FANOUT_SUBSCRIBERS" --publishers 4 --rate "$FANOUT_RATE" --duration-s "$DURATION_S")"
        ;;
      rooms)
        start_instance 1
        record rooms "$run" "$(load --server "127.0.0.1:$((BASE_PORT + 1))" --server-pid "$PID_1" --user-base "$base" \
          rooms --rooms "$ROOMS" --rate "$ROOMS_RATE" --duration-s "$DURATION_S")"
        ;;
      cross-node)
        start_instance 1; start_instance 2
        record cross-node "$run" "$(load --user-base "$base" cross-node --publish "127.0.0.1:$((BASE_PORT + 1))" \
          --subscribe "127.0.0.1:$((BASE_PORT + 2))" --subscribers "$FANOUT_SUBSCRIBERS" --publishers 4 \
          --rate "$FANOUT_RATE" --duration-s "$DURATION_S")"
        # The same traffic on one instance, for the cross-node cost.
        record cross-node-baseline "$run" "$(load --server "127.0.0.1:$((BASE_PORT + 1))" --user-base "$((base + 500000))" \
          fanout --subscribers "$FANOUT_SUBSCRIBERS" --publishers 4 --rate "$FANOUT_RATE" --duration-s "$DURATION_S")"
        ;;
      cluster)
        per=$((CLUSTER_SESSIONS / CLUSTER_INSTANCES))
        ramp=$((per / CLUSTER_RATE))
        for n in $(seq 1 "$CLUSTER_INSTANCES"); do INSTANCE_ENV="APP_DATABASE__POOL_SIZE=$CLUSTER_POOL" start_instance "$n"; done
        holders=()
        for n in $(seq 1 "$CLUSTER_INSTANCES"); do
          pid_var="PID_$n"
          load --server "127.0.0.1:$((BASE_PORT + n))" --server-pid "${!pid_var}" --sources 4 --connect-rate "$CLUSTER_RATE" \
            --user-base "$((base + n * 200000))" connections --sessions "$per" --hold-s $((DURATION_S * 2 + 60)) \
            >"$OUT/cluster-$run-$n.json" &
          holders+=($!)
        done
        # With everyone connected, messages still have to arrive in time.
        sleep $((ramp + 10))
        record cluster-fanout "$run" "$(load --user-base "$((base + 900000))" cross-node \
          --publish "127.0.0.1:$((BASE_PORT + 1))" --subscribe "127.0.0.1:$((BASE_PORT + CLUSTER_INSTANCES))" \
          --subscribers "$FANOUT_SUBSCRIBERS" --publishers 4 --rate "$CLUSTER_FANOUT_RATE" --duration-s "$DURATION_S")"
        wait "${holders[@]}"
        for n in $(seq 1 "$CLUSTER_INSTANCES"); do record cluster-connections "$run" "$(cat "$OUT/cluster-$run-$n.json")"; done
        ;;
      soak)
        [ "$run" = 1 ] || continue   # one soak is long enough
        start_instance 1
        record soak "$run" "$(load --server "127.0.0.1:$((BASE_PORT + 1))" --server-pid "$PID_1" --sources 4 \
          --user-base "$base" --connect-rate "$CONN_RATE" soak --rooms "$SOAK_ROOMS" --rate "$SOAK_RATE" \
          --duration-s "$SOAK_S" --sample-s 10)"
        ;;
      *) echo "unknown scenario $scenario" >&2; exit 2 ;;
    esac
    stop_instances
  done
done

bench/summarize.sh "$OUT/results.jsonl" | tee "$OUT/summary.md"
echo "results: $OUT" >&2
