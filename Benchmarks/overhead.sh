#!/usr/bin/env bash
# The agent's overhead on the example service: throughput and p99 latency of GET /hello (no work at all, so
# any cost of the agent shows) under wrk, without the agent, and with the agent while the collector is up, down
# (refusing connections), slow (answering after the agent's request timeout) or blackholed (accepting
# connections and never answering); the variants interleaved, ROUNDS times, in one run. The app's and
# run-program's CPU seconds per run are reported too: a pending delivery must cost nothing.
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
# Slow: reads the request and answers 202 after 15 s (the agent gives up after request_timeout, 10 s).
# Blackholed: accepts connections and never reads or answers.
cat >"$WORK/stub.py" <<'PY'
import socket, sys, threading, time
port, mode = int(sys.argv[1]), sys.argv[2]
server = socket.socket(); server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port)); server.listen(128)
held = []
def slow(connection):
    try:
        connection.recv(1 << 20); time.sleep(15)
        connection.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    finally:
        connection.close()
while True:
    connection, _ = server.accept()
    if mode == "slow":
        threading.Thread(target=slow, args=(connection,), daemon=True).start()
    else:
        held.append(connection)
PY
python3 "$WORK/stub.py" 17071 slow &
python3 "$WORK/stub.py" 17072 blackhole &
sed 's#collector_url = http://127.0.0.1:17070#collector_url = http://127.0.0.1:17071#' "$WORK/up.ini" >"$WORK/slow.ini"
sed 's#collector_url = http://127.0.0.1:17070#collector_url = http://127.0.0.1:17072#' "$WORK/up.ini" >"$WORK/blackholed.ini"
# Deliver every 2 s, so that a delivery is pending for most of each run against the slow and blackholed stubs.
for config in up down slow blackholed; do
    sed -i 's/^harvest_interval = .*/harvest_interval = 2/' "$WORK/$config.ini"
done

run() { # variant config enabled
    local variant=$1 config=$2 enabled=$3
    APM_ENABLED=$enabled "$APM" run-program --config "$config" -- "$APM" example-service --port 18080 --downstream-port 18081 \
        --database "$WORK/example.sqlite" --job-interval 3600 >"$WORK/app.log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do curl -sf http://127.0.0.1:18080/hello >/dev/null && break; sleep 0.05; done
    wrk -t1 -c"$CONNECTIONS" -d2s http://127.0.0.1:18080/hello >/dev/null # warm-up
    local app
    app=$(pgrep -f "apm example-service --port 18080" | tail -1)
    local before_app before_runner
    before_app=$(awk '{print $14 + $15}' "/proc/$app/stat")
    before_runner=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local out
    out=$(wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency http://127.0.0.1:18080/hello)
    local rps p99 app_cpu runner_cpu
    rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    app_cpu=$(awk -v b="$before_app" '{print ($14 + $15 - b) / 100}' "/proc/$app/stat")
    runner_cpu=$(awk -v b="$before_runner" '{print ($14 + $15 - b) / 100}' "/proc/$pid/stat")
    kill -TERM $pid; wait $pid 2>/dev/null || true
    echo "$variant $rps $p99 $app_cpu $runner_cpu" >>"$WORK/results"
    echo "round $round: $variant: $rps requests/s, p99 $p99, app CPU ${app_cpu} s, run-program ${runner_cpu} s" >&2
}

# A first, unmeasured run (database seeding, page cache), then the variants in a rotating order.
round=0
run "warm-up" "$WORK/up.ini" false
variants=(none up down slow blackholed)
for round in $(seq "$ROUNDS"); do
    # A rotating order, so that no variant always runs first or last.
    order=("${variants[@]:round % 5}" "${variants[@]:0:round % 5}")
    for variant in "${order[@]}"; do
        case $variant in
        none) run "no-agent" "$WORK/up.ini" false ;;
        *) run "agent,collector-$variant" "$WORK/$variant.ini" true ;;
        esac
    done
done

python3 - "$WORK/results" "$SECONDS_PER_RUN" <<'PY'
import sys, statistics
def ms(text):
    value = float(text.rstrip("musn"))
    return value * {"us": 0.001, "ms": 1, "s": 1000}[text.lstrip("0123456789.")]
rows = {}
for line in open(sys.argv[1]):
    variant, rps, p99, app_cpu, runner_cpu = line.split()
    if variant == "warm-up":
        continue
    rows.setdefault(variant, []).append((float(rps), ms(p99), float(app_cpu), float(runner_cpu)))
def mean(variant, index):
    return statistics.mean(row[index] for row in rows[variant])
base_rps, base_p99 = mean("no-agent", 0), mean("no-agent", 1)
print("| variant | requests/s (mean of rounds) | p99 (ms) | throughput vs no agent | p99 vs no agent | app CPU s/request (µs) | run-program CPU s per run |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for variant in ["no-agent"] + [f"agent,collector-{v}" for v in ["up", "down", "slow", "blackholed"]]:
    rps, p99 = mean(variant, 0), mean(variant, 1)
    per_request = mean(variant, 2) / (rps * float(sys.argv[2])) * 1e6
    print(f"| {variant} | {rps:,.0f} | {p99:.2f} | {100 * (rps / base_rps - 1):+.1f} % | {100 * (p99 / base_p99 - 1):+.1f} % | {per_request:.1f} | {mean(variant, 3):.2f} |")
PY
