#!/usr/bin/env bash
# What `apm run-program` costs the host: its own CPU seconds while it runs `sleep` and samples every 0.1 s (so that
# a 30 s run takes 300 samples), with the host's figures (the default) and without them (--no-host-metrics),
# alternately, ROUNDS times each, against a local collector; then the CPU per sample and, at the default
# 10 s interval, the share of one core.
#
#   Benchmarks/run-program-cost.sh            # from the repository root; ROUNDS=3 SECONDS_PER_RUN=30
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-30}
INTERVAL=0.1
swift build -c release --product apm >/dev/null
APM="$PWD/.build/release/apm"
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$APM" collector --data-dir "$WORK/data" --port 17071 >"$WORK/collector.log" 2>&1 &
for _ in $(seq 100); do grep -q "apm collector listening" "$WORK/collector.log" && break; sleep 0.1; done
KEY=$(grep "license key:" "$WORK/collector.log" | awk '{print $3}')
"$APM" generate-config "$KEY" "$WORK/agent.ini" --app-name cost --collector-url http://127.0.0.1:17071 >/dev/null

# CPU seconds (user + system) of one run-program, from /proc/<pid>/stat just before it exits.
run() {
    local flags=$1
    "$APM" run-program --config "$WORK/agent.ini" --sample-interval "$INTERVAL" $flags -- sleep "$SECONDS_PER_RUN" &
    local pid=$!
    local ticks=0
    while kill -0 "$pid" 2>/dev/null; do
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo "$ticks")
        sleep 0.5
    done
    wait "$pid" || true
    echo "scale=4; $ticks / $(getconf CLK_TCK)" | bc
}

samples=$(echo "$SECONDS_PER_RUN / $INTERVAL" | bc)
echo "| variant | round | CPU s | ms per sample | % of a core at 10 s |"
echo "| --- | ---: | ---: | ---: | ---: |"
for round in $(seq "$ROUNDS"); do
    for variant in "host" "no-host"; do
        flags=""
        [[ $variant == "no-host" ]] && flags="--no-host-metrics"
        cpu=$(run "$flags")
        per=$(echo "scale=3; $cpu * 1000 / $samples" | bc)
        share=$(echo "scale=6; $per / 100" | bc)
        echo "| $variant | $round | $cpu | $per | $share |"
    done
done
