#!/usr/bin/env bash
# The agent's overhead on the example service: throughput and p99 latency of GET /hello (no work at all, so
# any cost of the agent shows) under wrk, without the agent, with the agent and the collector up, and with
# the agent and the collector down; the three interleaved, ROUNDS times, in one run.
#
#   Benchmarks/overhead.sh            # from the repository root; ROUNDS=3 SECONDS_PER_RUN=10 CONNECTIONS=32
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { apt-get update -q && apt-get install -y -q wrk; }
swift build -c release --product apm >/dev/null
APM="$PWD/.build/release/apm"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$APM" collector --data-dir "$WORK/data" --port 17070 >"$WORK/collector.log" 2>&1 &
for _ in $(seq 100); do grep -q "apm collector listening" "$WORK/collector.log" && break; sleep 0.1; done
KEY=$(grep "license key:" "$WORK/collector.log" | awk '{print $3}')
"$APM" generate-config "$KEY" "$WORK/up.ini" >/dev/null
sed -i 's#collector_url = http://127.0.0.1:7070#collector_url = http://127.0.0.1:17070#; s/^app_name = My Application$/app_name = overhead/' "$WORK/up.ini"
# Down: a port nothing listens on; every delivery fails and is retried with backoff.
sed 's#collector_url = http://127.0.0.1:17070#collector_url = http://127.0.0.1:1#' "$WORK/up.ini" >"$WORK/down.ini"

run() { # variant config enabled
    local variant=$1 config=$2 enabled=$3
    APM_ENABLED=$enabled "$APM" run-program --config "$config" -- "$APM" example-service --port 18080 --downstream-port 18081 \
        --database "$WORK/example.sqlite" --job-interval 3600 >"$WORK/app.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do curl -sf http://127.0.0.1:18080/hello >/dev/null && break; sleep 0.05; done
    wrk -t1 -c"$CONNECTIONS" -d2s http://127.0.0.1:18080/hello >/dev/null # warm-up
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency http://127.0.0.1:18080/hello)
    local rps p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    kill -TERM $pid; wait $pid 2>/dev/null || true
    echo "$variant $rps $p99" >>"$WORK/results"
    echo "round $round: $variant: $rps requests/s, p99 $p99" >&2
}

# A first, unmeasured run (database seeding, page cache), then the variants in a rotating order.
round=0
run "warm-up" "$WORK/up.ini" false
for round in $(seq "$ROUNDS"); do
    case $((round % 3)) in
    1) order="none up down" ;;
    2) order="up down none" ;;
    *) order="down none up" ;;
    esac
    for variant in $order; do
        case $variant in
        none) run "no-agent" "$WORK/up.ini" false ;;
        up) run "agent,collector-up" "$WORK/up.ini" true ;;
        down) run "agent,collector-down" "$WORK/down.ini" true ;;
        esac
    done
done

python3 - "$WORK/results" <<'PY'
import sys, statistics
def ms(text):
    value = float(text.rstrip("musn"))
    return value * {"us": 0.001, "ms": 1, "s": 1000}[text.lstrip("0123456789.")]
rows = {}
for line in open(sys.argv[1]):
    variant, rps, p99 = line.split()
    if variant == "warm-up":
        continue
    rows.setdefault(variant, []).append((float(rps), ms(p99)))
base_rps = statistics.mean(r for r, _ in rows["no-agent"])
base_p99 = statistics.mean(p for _, p in rows["no-agent"])
print("| variant | requests/s (mean of rounds) | p99 (ms) | throughput vs no agent | p99 vs no agent |")
print("| --- | ---: | ---: | ---: | ---: |")
for variant in ["no-agent", "agent,collector-up", "agent,collector-down"]:
    rps = statistics.mean(r for r, _ in rows[variant]); p99 = statistics.mean(p for _, p in rows[variant])
    print(f"| {variant} | {rps:,.0f} | {p99:.2f} | {100 * (rps / base_rps - 1):+.1f} % | {100 * (p99 / base_p99 - 1):+.1f} % |")
PY
