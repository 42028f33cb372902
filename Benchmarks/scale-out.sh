#!/usr/bin/env bash
# The scale-out benchmark: builds `apm` (release), starts a throwaway PostgreSQL (scripts/with-postgres) and runs
# ScaleOutBenchmark, which loads SQLite with one collector, PostgreSQL with one and with two collector
# processes, and times the 7-day overview on both backends. Figures: docs/benchmarks.md.
#   Benchmarks/scale-out.sh            (AGENTS=32 SECONDS_PER_RUN=15 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product apm
(cd Benchmarks && swift build -c release --product ScaleOutBenchmark)
export APM_BINARY="$PWD/.build/release/apm"
# PostgreSQL with fsync and synchronous commits, as durable as SQLite's synchronous = FULL.
export APM_POSTGRES_DURABLE=1
scripts/with-postgres Benchmarks/.build/release/ScaleOutBenchmark
