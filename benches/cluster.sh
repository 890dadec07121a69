#!/usr/bin/env bash
# benches/cluster.sh: several `chainsched serve` engines sharing one PostgreSQL database, through
# the release binary and the HTTP API. Results go to docs/benchmarks.md, "PostgreSQL store",
# "Several engines on one database".
#
#   PG=postgres://user@host:port/postgres bash benches/cluster.sh [--rounds R] [--only LIST]
#       [--engines LIST] [--jobs N] [--api-jobs N] [--quick] [--keep] [--timeout S]
#
#   PG           an administrator's URL of the server (default: $CHAINSCHED_TEST_PG, which
#                `source .ci/pg-cluster && pg_cluster_start` exports): every run gets a fresh
#                database on it (CREATE DATABASE, dropped after the run)
#   --rounds R   rounds (default 3); the table shows medians, the run list every run
#   --only LIST  comma-separated workloads, by number or name: 1 steps, 2 burst, 3 api,
#                4 latency, 5 failover, 6 relaxed
#   --engines L  engine counts for workloads 1-3 and 6 (default "1,2,3")
#   --jobs N     jobs of workloads 1, 2 and 6 (default 1000); --api-jobs N: of workload 3 (3000)
#   --quick      small sizes, 1 round, failover with the 3 s lease only (a smoke run)
#   --timeout S  give up on one run after S seconds (default 600)
#   --keep       keep the work folder (rule files, engine logs, raw results)
#
# Workloads (sizes without --quick), each on a fresh database; E engines are E processes
# `chainsched serve --db postgres://…/DB --lease 10s` on 127.0.0.1, default (sync) durability:
#   1 steps     JOBS jobs of a 10-step `builtin noop` sequential chain, started round-robin over
#               the E engines' APIs (start i goes to engine i mod E; 64 client connections):
#               steps/s = JOBS × 10 / (first start → the store counts every job ended). The
#               start phase is part of it.
#   2 burst     the same 10 noop steps after an event step: JOBS jobs are started round-robin
#               and wait; then the event is raised at every engine at once (each completes
#               its own jobs' waiting steps): steps/s = JOBS × 10 / (raise → all ended), the
#               step transitions alone.
#               For 1 and 2, from the same run: the step-end → dependent-step-start gaps
#               (`peers_client runs`: per job, the executor's actual start of a step minus the
#               actual end of the step before it, from the job log's run details, 1 ms
#               resolution); and over the measured interval the CPU seconds of the engines, of
#               PostgreSQL (the run database's backends + WAL writer, checkpointer, background
#               writer, from /proc) and of the whole machine (/proc/stat), and PostgreSQL's
#               WAL flushes (pg_stat_wal: count, bytes, time spent in fsync; track_wal_io_timing
#               is switched on for the run's database only; pg_stat_wal is server-wide, so
#               other databases' activity adds to it: the active sessions of other databases
#               at each run's start are listed)
#   3 api       API_JOBS jobs of a 2-step noop chain started round-robin by 16 client
#               connections: HTTP starts/s and start latency p50/p99, wall until all ended
#   4 latency   one job of a 200-step noop chain on one engine, nothing else running: the
#               same gaps without queueing (commit latency + reaction)
#   5 failover  2 engines A and B with `--lease L`, 20 jobs started on each, every job a chain
#               of 200 ms `builtin sleep` steps (restart_on_recovery) lasting well past the
#               lease; 2 s after the starts A is SIGKILLed; from the run details, per job of
#               A: the first step actual start after the kill, minus the kill time (first /
#               median / last over A's jobs), and the largest gap of B's own jobs (they must
#               not stall). L = 3 s every round, and the default 10 s in the last round.
#   6 relaxed   workload 2 with `serve --durability relaxed` (synchronous_commit off for the
#               engines' writes): what waiting for the WAL fsync costs the burst
#
# "All ended" is seen by polling `/metrics` of the first engine (every 20 ms; 100 ms for 3):
# its job counts are read from the store at each request, so they cover the jobs of every
# engine (an engine's event stream shows only its own jobs). Runs are interleaved: each round
# runs every engine count once, in an order rotating from round to round, so a slow phase of
# the machine (other people's builds) hits all alike; the load average at each run's start is
# recorded. Once per round `peers_client flush` measures write + fdatasync on the disk of
# $TMPDIR (put it on the disk of the PostgreSQL data directory), and once per script
# pg_test_fsync runs there (-s 1). Needs bash >= 5, cargo, psql, curl; the HTTP client is
# benches/peers/client.rs (the example peers_client).
set -euo pipefail
export LC_ALL=C

setup() {
    ROUNDS=3
    ONLY=""
    ENGINES="1,2,3"
    JOBS=1000
    API_JOBS=3000
    QUICK=0
    TIMEOUT=600
    KEEP=0
    usage() { sed -n '2,62p' "$0" | sed 's/^# \{0,1\}//'; }
    while [ $# -gt 0 ]; do
        case "$1" in
            --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
            --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
            --engines) ENGINES="${2:?--engines needs a list}"; shift 2 ;;
            --jobs) JOBS="${2:?--jobs needs a number}"; shift 2 ;;
            --api-jobs) API_JOBS="${2:?--api-jobs needs a number}"; shift 2 ;;
            --quick) QUICK=1; shift ;;
            --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
            --keep) KEEP=1; shift ;;
            -h|--help) usage; exit 0 ;;
            *) echo "cluster.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
        esac
    done
    local n
    for n in "$ROUNDS" "$JOBS" "$API_JOBS" "$TIMEOUT"; do
        case "$n" in ''|*[!0-9]*|0) echo "cluster.sh: --rounds, --jobs, --api-jobs and --timeout take positive integers" >&2; exit 2 ;; esac
    done
    ENGINE_COUNTS="${ENGINES//,/ }"
    for n in $ENGINE_COUNTS; do
        case "$n" in [1-9]) ;; *) echo "cluster.sh: --engines: '$n' is not a count from 1 to 9" >&2; exit 2 ;; esac
    done
    if [ -z "${EPOCHREALTIME:-}" ]; then echo "cluster.sh: needs bash >= 5 (EPOCHREALTIME)" >&2; exit 2; fi
    PG="${PG:-${CHAINSCHED_TEST_PG:-}}"
    if [ -z "$PG" ]; then
        echo "cluster.sh: set PG (or CHAINSCHED_TEST_PG) to an administrator's URL of a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres" >&2
        exit 2
    fi
    PG_BASE="${PG%/*}"

    STEPS=10
    LAT_STEPS=200
    FO_JOBS=20
    FO_LEASES="3"
    if [ "$QUICK" = 1 ]; then
        [ "$JOBS" = 1000 ] && JOBS=60
        [ "$API_JOBS" = 3000 ] && API_JOBS=300
        LAT_STEPS=50
        FO_JOBS=5
        [ "$ROUNDS" = 3 ] && ROUNDS=1
    fi

    ALL="steps burst api latency failover relaxed"
    selected() { # selected NAME NUMBER
        [ -z "$ONLY" ] && return 0
        local w
        for w in ${ONLY//,/ }; do
            [ "$w" = "$1" ] || [ "$w" = "$2" ] && return 0
        done
        return 1
    }
    for n in ${ONLY//,/ }; do
        case " $ALL 1 2 3 4 5 6 " in *" $n "*) ;; *) echo "cluster.sh: --only: unknown workload '$n' (one of: $ALL, or 1-6)" >&2; exit 2 ;; esac
    done

    log() { echo "cluster.sh: $*" >&2; }

    REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    command -v cargo >/dev/null 2>&1 || { echo "cluster.sh: cargo not found (install Rust: https://rustup.rs)" >&2; exit 2; }
    command -v curl >/dev/null 2>&1 || { echo "cluster.sh: curl not found" >&2; exit 2; }
    PGBIN="${PG_CLUSTER_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
    PSQL="$(command -v psql || echo "$PGBIN/psql")"
    [ -x "$PSQL" ] || { echo "cluster.sh: psql not found (Debian package postgresql-client)" >&2; exit 2; }
    "$PSQL" -qAtX "$PG" -c 'SELECT 1' >/dev/null || { echo "cluster.sh: cannot connect to $PG" >&2; exit 2; }

    log "building target/release/chainsched and the peers_client example (cargo build --release --locked)"
    (cd "$REPO" && cargo build --release --locked --bin chainsched --example peers_client >&2)
    BIN="$REPO/target/release/chainsched"
    CLIENT="$REPO/target/release/examples/peers_client"

    WORK="$(mktemp -d "${TMPDIR:-/tmp}/chainsched-cluster.XXXXXX")"
    RES="$WORK/results"
    mkdir -p "$RES" "$WORK/rules"
    ENGINE_PIDS=()
    ENGINE_URLS=()
    DB=""
    SEQ_NO=0
    cleanup() {
        stop_engines
        drop_db
        if [ "$KEEP" = 1 ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# ---- generators -----------------------------------------------------------------------------

# A sequential chain NAME of N steps running PROGRAM (a program body) in FILE.
gen_chain() { # FILE NAME N PROGRAM [STEP-ATTRIBUTES]
    local file="$1" name="$2" n="$3" program="$4" attrs="${5:-}" i
    {
        echo "program P_$name { $program }"
        echo "chain $name {"
        for ((i = 1; i <= n; i++)); do echo "  step S$i program P_$name$attrs;"; done
        echo "  rule R0 when TRUE then START S1;"
        for ((i = 2; i <= n; i++)); do echo "  rule R$i when S$((i - 1)) SUCCEEDED then START S$i;"; done
        echo "  rule DONE when S$n SUCCEEDED then END;"
        echo "}"
    } >"$file"
}

# BURST: a step waiting for the event GO, then N `builtin noop` steps in sequence.
gen_burst() { # FILE N
    local file="$1" n="$2" i
    {
        echo "program P_BURST { builtin noop; }"
        echo "chain BURST {"
        echo "  step W event GO;"
        for ((i = 1; i <= n; i++)); do echo "  step S$i program P_BURST;"; done
        echo "  rule R0 when TRUE then START W;"
        echo "  rule R1 when W SUCCEEDED then START S1;"
        for ((i = 2; i <= n; i++)); do echo "  rule R$i when S$((i - 1)) SUCCEEDED then START S$i;"; done
        echo "  rule DONE when S$n SUCCEEDED then END;"
        echo "}"
    } >"$file"
}

# Failover chains: 200 ms steps lasting the lease + 8 s (the kill comes 2 s after the starts).
fo_steps() { echo $(((${1} + 8) * 5)); }

prepare() {
    gen_chain "$WORK/rules/seq.chain" SEQ "$STEPS" "builtin noop;"
    gen_burst "$WORK/rules/burst.chain" "$STEPS"
    gen_chain "$WORK/rules/two.chain" TWO 2 "builtin noop;"
    gen_chain "$WORK/rules/long.chain" LONG "$LAT_STEPS" "builtin noop;"
    local l
    for l in 3 10; do
        gen_chain "$WORK/rules/fo$l.chain" "FO$l" "$(fo_steps "$l")" "builtin sleep 200ms;" " with restart_on_recovery"
    done
    "$BIN" check "$WORK/rules" >/dev/null
}

# ---- databases and engines ------------------------------------------------------------------

psql_admin() { "$PSQL" -qAtX -v ON_ERROR_STOP=1 "$PG" "$@"; }

new_db() {
    SEQ_NO=$((SEQ_NO + 1))
    DB="chainsched_cluster_$$_$SEQ_NO"
    psql_admin -c "CREATE DATABASE $DB" >/dev/null
    # WAL fsync time for this database's sessions only (a superuser setting; without it the
    # flush count and bytes are still reported).
    psql_admin -c "ALTER DATABASE $DB SET track_wal_io_timing = on" >/dev/null 2>&1 || true
    DB_URL="$PG_BASE/$DB"
}
drop_db() {
    [ -n "$DB" ] || return 0
    psql_admin -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
    DB=""
}

# start_engine LEASE [DURABILITY]: one more `serve` on the current database; appends its pid
# and URL.
start_engine() {
    local lease="$1" durability="${2:-sync}" n=${#ENGINE_PIDS[@]} out err pid url i
    out="$WORK/engine-$SEQ_NO-$n.out"
    err="$WORK/engine-$SEQ_NO-$n.err"
    CHAINSCHED_LOG=warn "$BIN" serve --rules "$WORK/rules" --db "$DB_URL" --lease "$lease" \
        --durability "$durability" --listen 127.0.0.1:0 --insecure-no-auth --rate-limit 0 >"$out" 2>"$err" &
    pid=$!
    for ((i = 0; i < 600; i++)); do
        url="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out" 2>/dev/null)"
        if [ -n "$url" ]; then
            ENGINE_PIDS+=("$pid")
            ENGINE_URLS+=("$url")
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    log "chainsched serve did not start: $(tail -c 500 "$err")"
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}
start_engines() { # COUNT LEASE [DURABILITY]
    local i
    for ((i = 0; i < $1; i++)); do start_engine "$2" "${3:-sync}" || return 1; done
}
stop_engines() {
    local p
    for p in "${ENGINE_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${ENGINE_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    ENGINE_PIDS=()
    ENGINE_URLS=()
}
engine_urls() { local IFS=,; echo "${ENGINE_URLS[*]}"; }
# Warnings and errors the engines of this run logged (a fence error, a lost lease, …).
engine_complaints() { cat "$WORK"/engine-"$SEQ_NO"-*.err 2>/dev/null | grep -c -E 'WARN|ERROR|panick' || true; }

# ---- measuring --------------------------------------------------------------------------------

# CPU clock ticks (user + system) of PIDs; exited ones count 0.
cpu_ticks() {
    local t=0 p v
    for p in "$@"; do
        v="$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')" || v=0
        t=$((t + ${v:-0}))
    done
    echo "$t"
}
# Machine-wide "busy idle" ticks from /proc/stat (idle includes iowait).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
# The run database's backends and PostgreSQL's WAL writer, checkpointer and background writer.
pg_pids() {
    psql_admin -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' OR backend_type IN ('walwriter', 'checkpointer', 'background writer')" | tr '\n' ' '
}
pg_wal() { psql_admin -c "SELECT wal_records, wal_bytes, wal_sync, wal_sync_time FROM pg_stat_wal" | tr '|' ' '; }
other_sessions() { psql_admin -c "SELECT count(*) FROM pg_stat_activity WHERE datname IS NOT NULL AND datname <> '$DB' AND pid <> pg_backend_pid() AND state = 'active'"; }

# Snapshot before a measured run: sets S_* variables.
snap_before() {
    S_LOAD="$(cut -d' ' -f1 /proc/loadavg)"
    S_PGPIDS="$(pg_pids)"
    S_ENG="$(cpu_ticks "${ENGINE_PIDS[@]}")"
    # shellcheck disable=SC2086
    S_PG="$(cpu_ticks $S_PGPIDS)"
    read -r S_BUSY S_IDLE <<<"$(machine_ticks)"
    read -r S_WREC S_WBYTES S_WSYNC S_WTIME <<<"$(pg_wal)"
    S_OTHERS="$(other_sessions)"
}
# Snapshot after: the CPU part, at the end of the measured interval.
snap_after_cpu() {
    E_ENG="$(cpu_ticks "${ENGINE_PIDS[@]}")"
    # shellcheck disable=SC2086
    E_PG="$(cpu_ticks $S_PGPIDS)"
    read -r E_BUSY E_IDLE <<<"$(machine_ticks)"
}
# The WAL part, 1.2 s later: a session publishes its statistics at the end of a transaction at
# most once a second, and the engines' sessions run statements several times a second (polls,
# heartbeats), so by then every WAL flush of the interval is counted (with the few of those
# 1.2 s of idle engines: lease renewals).
snap_after_wal() { read -r E_WREC E_WBYTES E_WSYNC E_WTIME <<<"$(pg_wal)"; }

# CPU and WAL summary of the run between the snapshots, WALL seconds long, STEPS steps.
usage_fields() { # WALL STEPS
    local hz
    hz="$(getconf CLK_TCK)"
    awk -v wall="$1" -v steps="$2" -v hz="$hz" -v e0="$S_ENG" -v e1="$E_ENG" -v p0="$S_PG" -v p1="$E_PG" \
        -v b0="$S_BUSY" -v b1="$E_BUSY" -v i0="$S_IDLE" -v i1="$E_IDLE" \
        -v s0="$S_WSYNC" -v s1="$E_WSYNC" -v t0="$S_WTIME" -v t1="$E_WTIME" \
        -v y0="$S_WBYTES" -v y1="$E_WBYTES" -v r0="$S_WREC" -v r1="$E_WREC" 'BEGIN {
        eng = (e1 - e0) / hz; pg = (p1 - p0) / hz
        busy = (b1 - b0); tot = busy + (i1 - i0)
        printf "engines_cpu=%.2f pg_cpu=%.2f cores=%.2f machine_busy=%.0f", eng, pg, (eng + pg) / wall, (tot > 0 ? 100 * busy / tot : 0)
        printf " wal_syncs=%d steps_per_sync=%.1f wal_kib_per_step=%.2f wal_records_per_step=%.1f", s1 - s0, (s1 > s0 ? steps / (s1 - s0) : 0), (y1 - y0) / 1024 / steps, (r1 - r0) / steps
        if (s1 > s0 && t1 > t0) printf " wal_sync_ms=%.3f wal_sync_busy=%.0f", (t1 - t0) / (s1 - s0), 100 * (t1 - t0) / (wall * 1000)
        else printf " wal_sync_ms=- wal_sync_busy=-"
    }'
}

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; } # field NAME "k=v k=v"
record() { echo "$2" >>"$RES/$1"; } # record KEY VALUE
note_run() { echo "$*" >>"$RES/runs"; } # one line per run for the run list

# The engine counts in round-robin order for round R.
rotate() { # rotate ROUND ITEM...
    local r="$1"
    shift
    local items=("$@") n=$# i
    for ((i = 0; i < n; i++)); do echo "${items[$(((i + r) % n))]}"; done
}

# ---- workloads ------------------------------------------------------------------------------

# Workloads 1, 2 and 6 on E engines: MODE `steps` (start the jobs, time until all ended),
# `burst` (start jobs that wait for an event, then raise it everywhere and time the rest) or
# `relaxed` (burst with `--durability relaxed`: synchronous_commit off).
w_steps() { # MODE ENGINES ROUND
    local mode="$1" e="$2" key="$1.$2" out usage runs total=$((JOBS * STEPS)) complaints wall
    local durability=sync
    [ "$mode" = relaxed ] && durability=relaxed
    new_db
    if ! start_engines "$e" 10s "$durability"; then record "$key.fail" "serve did not start"; stop_engines; drop_db; return 0; fi
    local ok=1
    if [ "$mode" = steps ]; then
        sleep 1.5
        snap_before
        out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$(engine_urls)" --chain SEQ --jobs "$JOBS" \
            --concurrency 64 --ended store --poll-ms 20 --timeout "$TIMEOUT" 2>>"$WORK/client.err")" || ok=0
        wall="$(field ended_secs "$out")"
    else
        out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$(engine_urls)" --chain BURST --jobs "$JOBS" \
            --concurrency 64 --ended none --timeout "$TIMEOUT" 2>>"$WORK/client.err")" || ok=0
        [ "$(field started "$out")" = "$JOBS" ] || ok=0
        sleep 1.5
        snap_before
        if [ "$ok" = 1 ]; then
            out="$(timeout "$TIMEOUT" "$CLIENT" raise --url "$(engine_urls)" --event GO --jobs "$JOBS" \
                --poll-ms 20 --timeout "$TIMEOUT" 2>>"$WORK/client.err")" || ok=0
        fi
        wall="$(field burst_secs "$out")"
    fi
    if [ "$ok" = 1 ]; then
        snap_after_cpu
        sleep 1.2
        snap_after_wal
        runs="$("$CLIENT" runs --url "${ENGINE_URLS[0]}" 2>>"$WORK/client.err" || echo failed)"
        stop_engines
        usage="$(usage_fields "$wall" "$total")"
        complaints="$(engine_complaints)"
        record "$key" "$(awk -v t="$total" -v w="$wall" 'BEGIN { printf "%.1f", t / w }')"
        record "$key.succeeded" "$(field succeeded "$out")"
        record "$key.gap_p50" "$(field gap_p50_ms "$runs")"
        record "$key.gap_p99" "$(field gap_p99_ms "$runs")"
        local f
        for f in engines_cpu pg_cpu cores machine_busy wal_syncs steps_per_sync wal_kib_per_step wal_records_per_step wal_sync_ms wal_sync_busy; do
            record "$key.$f" "$(field "$f" "$usage")"
        done
        record "$key.wal_syncs_per_s" "$(awk -v s="$(field wal_syncs "$usage")" -v w="$wall" 'BEGIN { printf "%.0f", s / w }')"
        record "$key.load" "$S_LOAD"
        note_run "$mode E=$e round $3: load $S_LOAD, other active sessions $S_OTHERS: $out | $runs | $usage | engine warnings/errors: $complaints"
    else
        record "$key.fail" "client: ${out:-no output} $(tail -c 300 "$WORK/client.err")"
        log "$mode E=$e failed: $out"
        note_run "$mode E=$e round $3: FAILED $out; engine logs: $(tail -c 300 "$WORK"/engine-"$SEQ_NO"-*.err | tr '\n' ' ')"
        stop_engines
    fi
    drop_db
}

w_api() { # ENGINES ROUND
    local e="$1" key="api.$1" out complaints
    new_db
    if ! start_engines "$e" 10s; then record "$key.fail" "serve did not start"; stop_engines; drop_db; return 0; fi
    sleep 1.5
    snap_before
    if out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$(engine_urls)" --chain TWO --jobs "$API_JOBS" \
        --concurrency 16 --ended store --poll-ms 100 --timeout "$TIMEOUT" 2>>"$WORK/client.err")"; then
        snap_after_cpu
        sleep 1.2
        snap_after_wal
        stop_engines
        complaints="$(engine_complaints)"
        record "$key" "$(field starts_per_s "$out")"
        record "$key.p50" "$(field start_p50_ms "$out")"
        record "$key.p99" "$(field start_p99_ms "$out")"
        record "$key.ended" "$(field ended_secs "$out")"
        record "$key.succeeded" "$(field succeeded "$out")"
        record "$key.errors" "$(field start_errors "$out")"
        record "$key.machine_busy" "$(field machine_busy "$(usage_fields "$(field ended_secs "$out")" "$((API_JOBS * 2))")")"
        record "$key.load" "$S_LOAD"
        note_run "api E=$e round $2: load $S_LOAD, other active sessions $S_OTHERS: $out | $(usage_fields "$(field ended_secs "$out")" "$((API_JOBS * 2))") | engine warnings/errors: $complaints"
    else
        record "$key.fail" "client: ${out:-no output} $(tail -c 300 "$WORK/client.err")"
        log "api E=$e failed: $out"
        note_run "api E=$e round $2: FAILED $out; engine logs: $(tail -c 300 "$WORK"/engine-"$SEQ_NO"-*.err | tr '\n' ' ')"
        stop_engines
    fi
    drop_db
}

w_latency() { # ROUND
    local out runs
    new_db
    if ! start_engines 1 10s; then record latency.fail "serve did not start"; stop_engines; drop_db; return 0; fi
    sleep 1.5
    local load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$(engine_urls)" --chain LONG --jobs 1 \
        --concurrency 1 --ended store --poll-ms 20 --timeout "$TIMEOUT" 2>>"$WORK/client.err")"; then
        runs="$("$CLIENT" runs --url "${ENGINE_URLS[0]}" 2>>"$WORK/client.err" || echo failed)"
        record latency.gap_p50 "$(field gap_p50_ms "$runs")"
        record latency.gap_p99 "$(field gap_p99_ms "$runs")"
        record latency.per_step "$(awk -v w="$(field ended_secs "$out")" -v n="$LAT_STEPS" 'BEGIN { printf "%.3f", w * 1000 / n }')"
        record latency.load "$load"
        note_run "latency round $1: load $load: $out | $runs"
    else
        record latency.fail "client: ${out:-no output}"
        note_run "latency round $1: FAILED $out"
    fi
    stop_engines
    drop_db
}

# Wait until the store counts N ended jobs (via /metrics of URL); prints the seconds waited.
wait_ended() { # URL N
    local t0 i text fin
    t0=$EPOCHREALTIME
    for ((i = 0; i < TIMEOUT * 5; i++)); do
        text="$(curl -fsS "$1/metrics" 2>/dev/null || true)"
        fin="$(awk '/^chainsched_jobs\{state="(SUCCEEDED|FAILED|STOPPED)"\}/ { n += $2 } END { print n + 0 }' <<<"$text")"
        if [ "$fin" -ge "$2" ]; then awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; return 0; fi
        sleep 0.2
    done
    return 1
}
succeeded_of() { curl -fsS "$1/metrics" 2>/dev/null | awk '/^chainsched_jobs\{state="SUCCEEDED"\}/ { print $2 }'; }

w_failover() { # LEASE_SECONDS ROUND
    local l="$1" key="failover.$1" a b kill_ms out runs_a runs_b load waited
    new_db
    if ! start_engines 2 "${l}s"; then record "$key.fail" "serve did not start"; stop_engines; drop_db; return 0; fi
    a="${ENGINE_URLS[0]}"
    b="${ENGINE_URLS[1]}"
    load="$(cut -d' ' -f1 /proc/loadavg)"
    if ! out="$("$CLIENT" load --url "$a" --chain "FO$l" --jobs "$FO_JOBS" --prefix FA --concurrency 4 --ended none 2>>"$WORK/client.err")" ||
        ! "$CLIENT" load --url "$b" --chain "FO$l" --jobs "$FO_JOBS" --prefix FB --concurrency 4 --ended none >/dev/null 2>>"$WORK/client.err"; then
        record "$key.fail" "starts failed: $out"
        stop_engines
        drop_db
        return 0
    fi
    sleep 2
    kill_ms="$(date +%s%3N)"
    kill -KILL "${ENGINE_PIDS[0]}"
    wait "${ENGINE_PIDS[0]}" 2>/dev/null || true
    if waited="$(wait_ended "$b" $((2 * FO_JOBS)))"; then
        runs_a="$("$CLIENT" runs --url "$b" --prefix FA --after "$kill_ms" 2>>"$WORK/client.err" || echo failed)"
        runs_b="$("$CLIENT" runs --url "$b" --prefix FB 2>>"$WORK/client.err" || echo failed)"
        local ok
        ok="$(succeeded_of "$b")"
        record "$key.first" "$(awk -v v="$(field resume_min_ms "$runs_a")" 'BEGIN { printf "%.3f", v / 1000 }')"
        record "$key" "$(awk -v v="$(field resume_p50_ms "$runs_a")" 'BEGIN { printf "%.3f", v / 1000 }')"
        record "$key.last" "$(awk -v v="$(field resume_max_ms "$runs_a")" 'BEGIN { printf "%.3f", v / 1000 }')"
        record "$key.resumed" "$(field resumed "$runs_a")"
        record "$key.b_gap_max" "$(field gap_max_ms "$runs_b")"
        record "$key.succeeded" "${ok:-0}"
        record "$key.load" "$load"
        note_run "failover lease ${l}s round $2: load $load, killed A at $kill_ms, all ended ${waited}s later, SUCCEEDED ${ok:-0}/$((2 * FO_JOBS)) | A's jobs: $runs_a | B's jobs: $runs_b | engine warnings/errors: $(engine_complaints)"
    else
        record "$key.fail" "jobs did not end within ${TIMEOUT}s"
        note_run "failover lease ${l}s round $2: jobs did not end; B's log: $(tail -c 500 "$WORK/engine-$SEQ_NO-1.err" | tr '\n' ' ')"
    fi
    ENGINE_PIDS=("${ENGINE_PIDS[1]}")
    stop_engines
    drop_db
}

w_disk() {
    local out
    mkdir -p "$WORK/disk"
    out="$("$CLIENT" flush 200 "$WORK/disk")" && record disk.fdatasync_us "$(field fdatasync_us "$out")"
    rm -rf "$WORK/disk"
}

# ---- report ---------------------------------------------------------------------------------

median() { # median FILE -> the median of its numeric lines, or empty
    [ -s "$1" ] || return 0
    grep -E '^[0-9.]+$' "$1" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) exit
        if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
list() { if [ -s "$1" ]; then grep -E '^[0-9.]+$' "$1" | tr '\n' ' ' | sed 's/ $//; s/ /, /g'; else echo "—"; fi; }
med() { local m; m="$(median "$RES/$1")"; if [ -n "$m" ]; then awk -v m="$m" -v f="${2:-%.0f}" 'BEGIN { printf f, m }'; else echo "—"; fi; }
fails() { if [ -s "$RES/$1.fail" ]; then echo " ($(wc -l <"$RES/$1.fail") failed: $(head -1 "$RES/$1.fail" | cut -c1-80))"; fi; }

machine() {
    local fs
    fs="$(df -PT "$WORK" | awk 'NR == 2 { print $1 " (" $2 ")" }')"
    echo "- machine: $(nproc) cores (nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, kernel $(uname -r); \$TMPDIR on $fs"
    echo "- PostgreSQL: $(psql_admin -c 'SHOW server_version') at ${PG_BASE#*@} (fsync $(psql_admin -c 'SHOW fsync'), synchronous_commit $(psql_admin -c 'SHOW synchronous_commit'), wal_sync_method $(psql_admin -c 'SHOW wal_sync_method'), commit_delay $(psql_admin -c 'SHOW commit_delay'), shared_buffers $(psql_admin -c 'SHOW shared_buffers'))"
    echo "- $("$BIN" --version), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (with local changes)'), $(date -u +%Y-%m-%dT%H:%MZ)"
}

report() {
    echo
    echo "## Results: medians of $ROUNDS round(s)"
    echo
    echo "- command: \`bash benches/cluster.sh$( [ "$QUICK" = 1 ] && echo " --quick")$( [ -n "$ONLY" ] && echo " --only $ONLY") --rounds $ROUNDS --engines $ENGINES --jobs $JOBS --api-jobs $API_JOBS\`"
    machine
    echo "- load average: $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- write + fdatasync of a small file on \$TMPDIR's disk, per round: $(list "$RES/disk.fdatasync_us") µs"
    [ -n "${FSYNC_LINE:-}" ] && echo "- pg_test_fsync -s 1 (one 8 kB write + fdatasync): $FSYNC_LINE"
    local e
    local mode
    for mode in steps burst relaxed; do
        if [ "$mode" = steps ]; then
            selected steps 1 || continue
            echo
            echo "Workload 1 (steps): $JOBS jobs × $STEPS \`builtin noop\` steps, started round-robin (64 connections); steps/s = $((JOBS * STEPS)) / (first start → all ended)."
        elif [ "$mode" = burst ]; then
            selected burst 2 || continue
            echo
            echo "Workload 2 (burst): $JOBS jobs waiting for an event, then $STEPS noop steps; the event raised at every engine; steps/s = $((JOBS * STEPS)) / (raise → all ended)."
        else
            selected relaxed 6 || continue
            echo
            echo "Workload 6 (relaxed): workload 2 with \`serve --durability relaxed\` (the engines' writing sessions use synchronous_commit off: commits do not wait for the WAL flush)."
        fi
        echo "CPU: µs of CPU per step, the engines together and PostgreSQL (the run's backends + WAL writer, checkpointer, bgwriter); cores = (engines + PostgreSQL CPU) / wall; machine busy = all processes (other people's too), both cores. WAL: flushes (fsyncs) per second and steps per flush, mean fsync time, share of the wall spent in WAL fsync, WAL bytes and records per step."
        echo
        echo "| engines | steps/s (median) | each run | load at start | step end → next start p50 / p99 | CPU/step engines + PostgreSQL | cores | machine busy | WAL flushes/s | steps per flush | mean fsync | fsync busy | WAL per step |"
        echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        for e in $ENGINE_COUNTS; do
            local k="$mode.$e" steps=$((JOBS * STEPS))
            echo "| $e | **$(med "$k")**$(fails "$k") | $(list "$RES/$k") | $(list "$RES/$k.load") | $(med "$k.gap_p50") / $(med "$k.gap_p99") ms | $(awk -v c="$(median "$RES/$k.engines_cpu")" -v n="$steps" 'BEGIN { printf "%.0f", c * 1e6 / n }') + $(awk -v c="$(median "$RES/$k.pg_cpu")" -v n="$steps" 'BEGIN { printf "%.0f µs", c * 1e6 / n }') | $(med "$k.cores" %.2f) | $(med "$k.machine_busy") % | $(med "$k.wal_syncs_per_s") | $(med "$k.steps_per_sync") | $(med "$k.wal_sync_ms" %.2f) ms | $(med "$k.wal_sync_busy") % | $(med "$k.wal_kib_per_step" %.2f) KiB, $(med "$k.wal_records_per_step") records |"
        done
    done
    if selected api 3; then
        echo
        echo "Workload 3 (api): $API_JOBS jobs of a 2-step noop chain via POST /api/v1/jobs, round-robin, 16 connections."
        echo
        echo "| engines | starts/s (median) | each run | start p50 / p99 | all ended after | SUCCEEDED (worst) | load at start |"
        echo "|---|---|---|---|---|---|---|"
        for e in $ENGINE_COUNTS; do
            local k="api.$e"
            echo "| $e | **$(med "$k")**$(fails "$k") | $(list "$RES/$k") | $(med "$k.p50" %.1f) / $(med "$k.p99" %.1f) ms | $(med "$k.ended" %.2f) s | $(if [ -s "$RES/$k.succeeded" ]; then sort -g "$RES/$k.succeeded" | head -1; else echo 0; fi)/$API_JOBS | $(list "$RES/$k.load") |"
        done
    fi
    if selected latency 4; then
        echo
        echo "Workload 4 (latency): one job of $LAT_STEPS noop steps alone on one engine: step end → next start p50 $(med latency.gap_p50) ms, p99 $(med latency.gap_p99) ms; wall per step $(med latency.per_step %.2f) ms (runs: $(list "$RES/latency.per_step") ms; load $(list "$RES/latency.load"))$(fails latency)."
    fi
    if selected failover 5; then
        echo
        echo "Workload 5 (failover): 2 engines, $FO_JOBS jobs on each, engine A SIGKILLed; time from the kill to the first step run of each of A's jobs on B."
        echo
        echo "| lease | runs | first job | median job | last job | each run (last job) | jobs resumed | largest gap of B's jobs | SUCCEEDED | load |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        local l
        for l in $FO_LEASES; do
            local k="failover.$l"
            [ -s "$RES/$k" ] || [ -s "$RES/$k.fail" ] || continue
            echo "| ${l} s | $(grep -c . "$RES/$k" 2>/dev/null || echo 0)$(fails "$k") | $(med "$k.first" %.2f) s | $(med "$k" %.2f) s | $(med "$k.last" %.2f) s | $(list "$RES/$k.last") s | $(list "$RES/$k.resumed") of $FO_JOBS | $(med "$k.b_gap_max") ms | $(list "$RES/$k.succeeded") of $((2 * FO_JOBS)) | $(list "$RES/$k.load") |"
        done
    fi
    echo
    echo "### Every run"
    echo
    if [ -s "$RES/runs" ]; then sed 's/^/- /' "$RES/runs"; fi
}

# ---- main -------------------------------------------------------------------------------------

main() {
    setup "$@"
    LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
    log "work folder $WORK; $ROUNDS round(s); server $PG_BASE"
    prepare
    if [ -x "$PGBIN/pg_test_fsync" ] && [ "$QUICK" = 0 ]; then
        log "pg_test_fsync -s 1 on $WORK (about 20 s)"
        FSYNC_LINE="$(cd "$WORK" && "$PGBIN/pg_test_fsync" -s 1 -f "$WORK/fsync.probe" 2>/dev/null |
            awk '/one 8kB write/ { on = 1 } on && /^[ \t]+fdatasync[ \t]+[0-9]/ { sub(/^[ \t]+/, ""); gsub(/ +/, " "); print; exit }')" || FSYNC_LINE=""
        rm -f "$WORK/fsync.probe"
    fi
    local round e
    for ((round = 1; round <= ROUNDS; round++)); do
        log "round $round/$ROUNDS"
        w_disk
        if selected steps 1; then
            for e in $(rotate "$round" $ENGINE_COUNTS); do log "steps, $e engine(s)"; w_steps steps "$e" "$round"; done
        fi
        if selected burst 2; then
            for e in $(rotate "$round" $ENGINE_COUNTS); do log "burst, $e engine(s)"; w_steps burst "$e" "$round"; done
        fi
        if selected relaxed 6; then
            for e in $(rotate "$round" $ENGINE_COUNTS); do log "burst relaxed, $e engine(s)"; w_steps relaxed "$e" "$round"; done
        fi
        if selected api 3; then
            for e in $(rotate "$round" $ENGINE_COUNTS); do log "api, $e engine(s)"; w_api "$e" "$round"; done
        fi
        if selected latency 4; then log "latency"; w_latency "$round"; fi
        if selected failover 5; then
            log "failover, lease 3 s"
            w_failover 3 "$round"
            if [ "$round" = "$ROUNDS" ] && [ "$QUICK" = 0 ]; then
                log "failover, lease 10 s"
                FO_LEASES="3 10"
                w_failover 10 "$round"
            fi
        fi
    done
    report
}

main "$@"
exit $?
