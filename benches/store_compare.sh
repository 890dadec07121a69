#!/usr/bin/env bash
# Durable no-op steps per second through the binary, sled versus PostgreSQL (docs/benchmarks.md,
# "PostgreSQL store"): a chain of N `builtin noop` steps in sequence, run with
# `chainsched run --db DIR` on a fresh sled folder and `chainsched run --db URL` on a fresh
# PostgreSQL database, ROUNDS times each, interleaved; prints each run's wall time and the
# median steps/s per store.
#
#   cargo build --release
#   source .ci/pg-cluster && pg_cluster_start      # or any server: PG=postgres://…/postgres
#   PG=$CHAINSCHED_TEST_PG bash benches/store_compare.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
ROUNDS=${2:-5}
PG=${PG:-${CHAINSCHED_TEST_PG:?set PG or CHAINSCHED_TEST_PG to a server URL (…/postgres)}}
BIN=${BIN:-target/release/chainsched}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

{
    echo "program NOOP { builtin noop; }"
    echo "chain SEQ {"
    for i in $(seq 1 "$N"); do echo "  step S$i program NOOP;"; done
    echo "  rule R0 when TRUE then START S1;"
    for i in $(seq 2 "$N"); do echo "  rule R$i when S$((i - 1)) SUCCEEDED then START S$i;"; done
    echo "  rule DONE when S$N SUCCEEDED then END;"
    echo "}"
} >"$WORK/seq.chain"

base=${PG%/*}
now() { date +%s.%N; }
declare -a sled_t pg_t
for r in $(seq 1 "$ROUNDS"); do
    t0=$(now)
    "$BIN" run "$WORK/seq.chain" --chain SEQ --db "$WORK/sled-$r" >/dev/null 2>&1
    t1=$(now)
    sled_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")

    db="chainsched_bench_$$_$r"
    psql -q "$PG" -c "CREATE DATABASE $db"
    t0=$(now)
    "$BIN" run "$WORK/seq.chain" --chain SEQ --db "$base/$db" >/dev/null 2>&1
    t1=$(now)
    pg_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")
    psql -q "$PG" -c "DROP DATABASE $db"
    printf 'round %d: sled %.3f s, postgresql %.3f s\n' "$r" "${sled_t[-1]}" "${pg_t[-1]}"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms=$(median "${sled_t[@]}")
mp=$(median "${pg_t[@]}")
report() { awk -v n="$N" -v t="$2" -v w="$1" 'BEGIN {printf "%-11s median %.3f s = %.0f steps/s (%.2f ms/step)\n", w, t, n / t, t * 1000 / n}'; }
report sled: "$ms"
report postgresql: "$mp"
