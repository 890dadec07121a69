#!/usr/bin/env bash
# benches/peers.sh: chainsched against GNU make and ninja on the same workloads, whole system
# (process start, rule-file load, store, spawning), plus the machine's physical limits.
# Results go to docs/benchmarks.md, "Peers (whole system)".
#
#   bash benches/peers.sh [--rounds R] [--only LIST] [--quick] [--timeout S] [--keep]
#
#   --rounds R   rounds of every workload (default 5); the table shows medians
#   --only LIST  comma-separated workloads, by number or name:
#                1 chain, 2 fan, 3 noop, 4 sleep, 5 concurrent, 6 api, 7 limits
#   --quick      small sizes and 1 round (a smoke run of the script itself)
#   --timeout S  give up on one run after S seconds (default 900); a tool that timed out is
#                not run again in later rounds
#   --keep       keep the work folder (generated rule files, Makefiles, build.ninja, logs)
#
# Reproducible: the workloads are generated from fixed sizes into a fresh temporary folder
# (under $TMPDIR, default /tmp, which is also where the stores live: put it on the disk you
# want measured); every chainsched run gets a fresh --db. Runs are interleaved: each round
# runs every workload once with every tool, the tools' order rotating from round to round, so
# a slow phase of the machine hits all tools alike. Needs bash >= 5 (EPOCHREALTIME), cargo,
# and installs `make` and `ninja-build` with apt-get when they are missing (Debian/Ubuntu).
#
# Workloads (sizes without --quick):
#   1 chain      200 sequential /bin/true steps (chainsched: `executable '/bin/true'`, sync store)
#   2 fan        A -> 100 parallel /bin/true -> Z (make/ninja: -j2, chainsched: unlimited)
#   3 noop       chain of N `builtin noop` steps, N = 100, 1000, 3000, 10000, chainsched only in
#                sync, relaxed and --db :memory:; make/ninja walk the same chain of targets
#                that have no command (their scheduling cost alone, nothing is spawned)
#   4 sleep      40 x `sleep 0.01` in sequence: the total against the 0.40 s of sleeping
#   5 concurrent 200 jobs of a 10-step `builtin noop` chain started at once through the HTTP
#                API of `chainsched serve` (200 client connections), sync and relaxed: steps/s
#                from the first start to the last job's end
#   6 api        10,000 jobs (2 `builtin noop` steps each) started through the HTTP API by 16
#                client connections: starts/s, time until all ended, SUCCEEDED count, the
#                server's peak RSS (VmHWM)
#   7 limits     one posix_spawn + waitpid of /bin/true (mean of 1000), one sled flush after a
#                small insert and one write + fdatasync of a small file (means of 200)
# The HTTP client and the limit probes are benches/peers/client.rs (the example peers_client).
set -euo pipefail
export LC_ALL=C

# Everything the script does runs from functions called on its last line, so that bash has
# read the whole file before running any of it (editing the file during a run is harmless).
setup() {
    ROUNDS=5
    ONLY=""
    QUICK=0
    TIMEOUT=900
    KEEP=0
    usage() { sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; }
    while [ $# -gt 0 ]; do
        case "$1" in
            --rounds) ROUNDS="${2:?--rounds needs a number}"; shift 2 ;;
            --only) ONLY="${2:?--only needs a list}"; shift 2 ;;
            --quick) QUICK=1; shift ;;
            --timeout) TIMEOUT="${2:?--timeout needs seconds}"; shift 2 ;;
            --keep) KEEP=1; shift ;;
            -h|--help) usage; exit 0 ;;
            *) echo "peers.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
        esac
    done
    case "$ROUNDS" in ''|*[!0-9]*|0) echo "peers.sh: --rounds must be a positive integer" >&2; exit 2 ;; esac
    case "$TIMEOUT" in ''|*[!0-9]*|0) echo "peers.sh: --timeout must be a positive integer" >&2; exit 2 ;; esac
    if [ -z "${EPOCHREALTIME:-}" ]; then echo "peers.sh: needs bash >= 5 (EPOCHREALTIME)" >&2; exit 2; fi

    if [ "$QUICK" = 1 ]; then
        CHAIN_N=20; FAN_N=10; NOOP_NS="100 1000"; SLEEP_N=5
        CONC_JOBS=20; CONC_STEPS=10; API_JOBS=200; API_CLIENTS=8; SPAWNS=200; FLUSHES=50
        [ "$ROUNDS" = 5 ] && ROUNDS=1
    else
        CHAIN_N=200; FAN_N=100; NOOP_NS="100 1000 3000 10000"; SLEEP_N=40
        CONC_JOBS=200; CONC_STEPS=10; API_JOBS=10000; API_CLIENTS=16; SPAWNS=1000; FLUSHES=200
    fi

    ALL="chain fan noop sleep concurrent api limits"
    selected() { # selected NAME NUMBER
        [ -z "$ONLY" ] && return 0
        local w
        for w in ${ONLY//,/ }; do
            [ "$w" = "$1" ] || [ "$w" = "$2" ] && return 0
        done
        return 1
    }
    for w in ${ONLY//,/ }; do
        case " $ALL 1 2 3 4 5 6 7 " in *" $w "*) ;; *) echo "peers.sh: --only: unknown workload '$w' (one of: $ALL, or 1-7)" >&2; exit 2 ;; esac
    done

    log() { echo "peers.sh: $*" >&2; }

    # ---- tools ---------------------------------------------------------------------------------
    REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    need_pkg=()
    command -v make >/dev/null 2>&1 || need_pkg+=(make)
    command -v ninja >/dev/null 2>&1 || need_pkg+=(ninja-build)
    if [ ${#need_pkg[@]} -gt 0 ]; then
        log "installing ${need_pkg[*]} with apt-get"
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO="sudo"
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkg[@]}" >/dev/null
    fi
    command -v cargo >/dev/null 2>&1 || { echo "peers.sh: cargo not found (install Rust: https://rustup.rs)" >&2; exit 2; }

    # cargo rebuilds only what is stale (missing binary, changed sources): always ask it.
    log "building target/release/chainsched and the peers_client example (cargo build --release --locked)"
    (cd "$REPO" && cargo build --release --locked --bin chainsched --example peers_client >&2)
    BIN="$REPO/target/release/chainsched"
    CLIENT="$REPO/target/release/examples/peers_client"

    WORK="$(mktemp -d "${TMPDIR:-/tmp}/chainsched-peers.XXXXXX")"
    RES="$WORK/results"
    mkdir -p "$RES"
    SERVER_PID=""
    cleanup() {
        if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
        if [ "$KEEP" = 1 ]; then log "work folder kept: $WORK"; else rm -rf "$WORK"; fi
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# ---- generators: a rule file, a Makefile and a build.ninja per workload --------------------

# Sequence of N steps running PROGRAM-LINE (chainsched) / RECIPE (make, ninja).
gen_sequence() { # DIR N PROGRAM RECIPE [nocmd]
    local dir="$1" n="$2" program="$3" recipe="$4" nocmd="${5:-}" i
    mkdir -p "$dir"
    {
        echo "program P { $program }"
        echo "chain SEQ {"
        for ((i = 1; i <= n; i++)); do echo "  step S$i program P;"; done
        echo "  rule R0 when TRUE then START S1;"
        for ((i = 2; i <= n; i++)); do echo "  rule R$i when S$((i - 1)) SUCCEEDED then START S$i;"; done
        echo "  rule DONE when S$n SUCCEEDED then END;"
        echo "}"
    } >"$dir/rules.chain"
    {
        printf '.PHONY: all'
        for ((i = 1; i <= n; i++)); do printf ' s%d' "$i"; done
        printf '\nall: s%d\n' "$n"
        if [ -n "$nocmd" ]; then
            echo "s1: ;"
            for ((i = 2; i <= n; i++)); do echo "s$i: s$((i - 1)) ;"; done
        else
            printf 's1:\n\t%s\n' "$recipe"
            for ((i = 2; i <= n; i++)); do printf 's%d: s%d\n\t%s\n' "$i" "$((i - 1))" "$recipe"; done
        fi
    } >"$dir/Makefile"
    {
        if [ -n "$nocmd" ]; then
            echo "build s1: phony"
            for ((i = 2; i <= n; i++)); do echo "build s$i: phony s$((i - 1))"; done
        else
            printf 'rule r\n  command = %s\n' "$recipe"
            echo "build s1: r"
            for ((i = 2; i <= n; i++)); do echo "build s$i: r | s$((i - 1))"; done
        fi
        echo "default s$n"
    } >"$dir/build.ninja"
}

# A -> B1..BN in parallel -> Z, every step /bin/true.
gen_fan() { # DIR N
    local dir="$1" n="$2" i bs=""
    mkdir -p "$dir"
    for ((i = 1; i <= n; i++)); do bs="$bs B$i"; done
    {
        echo "program T { executable '/bin/true'; }"
        echo "chain FAN {"
        echo "  step A program T;"
        for ((i = 1; i <= n; i++)); do echo "  step B$i program T;"; done
        echo "  step Z program T;"
        echo "  rule R0 when TRUE then START A;"
        echo "  rule R1 when A SUCCEEDED then START $(echo $bs | sed 's/ /, /g');"
        echo "  rule R2 when $(echo $bs | sed 's/\(B[0-9]*\)/\1 SUCCEEDED/g; s/SUCCEEDED B/SUCCEEDED AND B/g') then START Z;"
        echo "  rule DONE when Z SUCCEEDED then END;"
        echo "}"
    } >"$dir/rules.chain"
    local lbs
    lbs="$(echo "$bs" | tr 'B' 'b')"
    {
        echo ".PHONY: all a z$lbs"
        echo "all: z"
        printf 'a:\n\t/bin/true\n'
        for ((i = 1; i <= n; i++)); do printf 'b%d: a\n\t/bin/true\n' "$i"; done
        printf 'z:%s\n\t/bin/true\n' "$lbs"
    } >"$dir/Makefile"
    {
        printf 'rule r\n  command = /bin/true\n'
        echo "build a: r"
        for ((i = 1; i <= n; i++)); do echo "build b$i: r | a"; done
        echo "build z: r |$lbs"
        echo "default z"
    } >"$dir/build.ninja"
}

# A chain of STEPS `builtin noop` steps (for serve).
gen_noop_chain() { # FILE NAME STEPS
    local file="$1" name="$2" n="$3" i
    {
        echo "program NOOP { builtin noop; }"
        echo "chain $name {"
        for ((i = 1; i <= n; i++)); do echo "  step S$i program NOOP;"; done
        echo "  rule R0 when TRUE then START S1;"
        for ((i = 2; i <= n; i++)); do echo "  rule R$i when S$((i - 1)) SUCCEEDED then START S$i;"; done
        echo "  rule DONE when S$n SUCCEEDED then END;"
        echo "}"
    } >"$file"
}

# ---- running and recording ----------------------------------------------------------------

# Seconds (6 decimals) between two EPOCHREALTIME values.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# Run one measured command: time_run KEY DIR CMD...; appends the wall time to $RES/KEY, or a
# failure to $RES/KEY.fail (a timed-out KEY is skipped from then on).
time_run() {
    local key="$1" dir="$2"
    shift 2
    if [ -e "$RES/$key.skip" ]; then return 0; fi
    local t0 t1 rc=0
    t0=$EPOCHREALTIME
    (cd "$dir" && timeout "$TIMEOUT" "$@" >"$WORK/last.out" 2>"$WORK/last.err") || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" = 0 ]; then
        elapsed "$t0" "$t1" >>"$RES/$key"
        echo >>"$RES/$key"
    elif [ "$rc" = 124 ]; then
        echo "timeout after ${TIMEOUT}s" >>"$RES/$key.fail"
        touch "$RES/$key.skip"
        log "$key: timed out after ${TIMEOUT}s; not run again"
    else
        echo "exit $rc: $(tail -c 300 "$WORK/last.err" | tr '\n' ' ')" >>"$RES/$key.fail"
        log "$key: exit $rc; stderr: $(tail -c 300 "$WORK/last.err")"
    fi
}

record() { echo "$2" >>"$RES/$1"; } # record KEY VALUE

# The tools in round-robin order for round R: rotate the list by R.
rotate() { # rotate ROUND TOOL...
    local r="$1"
    shift
    local tools=("$@") n=$# i
    for ((i = 0; i < n; i++)); do echo "${tools[$(((i + r) % n))]}"; done
}

run_chainsched() { # KEY DIR CHAIN [run flags...]: a fresh --db unless given
    local key="$1" dir="$2" chain="$3"
    shift 3
    local db=("--db" "$dir/db")
    case " $* " in *" --db "*) db=() ;; esac
    rm -rf "$dir/db"
    time_run "$key" "$dir" "$BIN" run rules.chain --chain "$chain" "${db[@]}" "$@"
    rm -rf "$dir/db"
}
run_make() { rm -f "$2"/s[0-9]* ; time_run "$1" "$2" make -s -j2 -f Makefile; }
run_ninja() { rm -f "$2/.ninja_log" "$2/.ninja_deps"; time_run "$1" "$2" ninja -j2 -f build.ninja; }

# `chainsched serve` on a fresh store; sets SERVER_URL.
start_server() { # RULES_DIR DB DURABILITY
    rm -rf "$2"
    # Removed first: the server's shell truncates it only once it runs, and the previous
    # server's address must not be read in between.
    rm -f "$WORK/serve.out" "$WORK/serve.err"
    CHAINSCHED_LOG=warn "$BIN" serve --rules "$1" --db "$2" --listen 127.0.0.1:0 \
        --insecure-no-auth --rate-limit 0 --durability "$3" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        SERVER_URL="$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/serve.out" 2>/dev/null)"
        [ -n "$SERVER_URL" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    log "chainsched serve did not start: $(cat "$WORK/serve.err")"
    return 1
}
stop_server() { # DB
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    rm -rf "$1"
}
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; } # field NAME "k=v k=v"

# ---- workloads ------------------------------------------------------------------------------

prepare() {
    selected chain 1 && gen_sequence "$WORK/chain" "$CHAIN_N" "executable '/bin/true';" "/bin/true"
    selected fan 2 && gen_fan "$WORK/fan" "$FAN_N"
    if selected noop 3; then
        local n
        for n in $NOOP_NS; do gen_sequence "$WORK/noop$n" "$n" "builtin noop;" "" nocmd; done
    fi
    selected sleep 4 && gen_sequence "$WORK/sleep" "$SLEEP_N" "executable '/bin/sleep'; arguments '0.01';" "sleep 0.01"
    if selected concurrent 5; then
        mkdir -p "$WORK/concurrent/rules"
        gen_noop_chain "$WORK/concurrent/rules/seq.chain" SEQ "$CONC_STEPS"
    fi
    if selected api 6; then
        mkdir -p "$WORK/api/rules"
        gen_noop_chain "$WORK/api/rules/two.chain" TWO 2
    fi
    return 0
}

w_sequence() { # NAME ROUND
    local name="$1" tool
    for tool in $(rotate "$2" chainsched make ninja); do
        case $tool in
            chainsched) run_chainsched "$name.chainsched" "$WORK/$name" SEQ ;;
            make) run_make "$name.make" "$WORK/$name" ;;
            ninja) run_ninja "$name.ninja" "$WORK/$name" ;;
        esac
    done
}

w_fan() {
    local tool
    for tool in $(rotate "$1" chainsched make ninja); do
        case $tool in
            chainsched) run_chainsched fan.chainsched "$WORK/fan" FAN ;;
            make) run_make fan.make "$WORK/fan" ;;
            ninja) run_ninja fan.ninja "$WORK/fan" ;;
        esac
    done
}

w_noop() {
    local n tool
    for n in $NOOP_NS; do
        for tool in $(rotate "$1" sync relaxed memory make ninja); do
            case $tool in
                sync) run_chainsched "noop$n.sync" "$WORK/noop$n" SEQ ;;
                relaxed) run_chainsched "noop$n.relaxed" "$WORK/noop$n" SEQ --durability relaxed ;;
                memory) run_chainsched "noop$n.memory" "$WORK/noop$n" SEQ --db :memory: ;;
                make) run_make "noop$n.make" "$WORK/noop$n" ;;
                ninja) run_ninja "noop$n.ninja" "$WORK/noop$n" ;;
            esac
        done
    done
}

w_concurrent() {
    local mode out
    for mode in $(rotate "$1" sync relaxed); do
        start_server "$WORK/concurrent/rules" "$WORK/concurrent/db" "$mode" || { record "concurrent.$mode.fail" "serve did not start"; continue; }
        if out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$SERVER_URL" --chain SEQ --jobs "$CONC_JOBS" \
            --concurrency "$CONC_JOBS" --timeout "$TIMEOUT" 2>>"$WORK/client.err")"; then
            record "concurrent.$mode" "$(field ended_secs "$out")"
            record "concurrent.$mode.succeeded" "$(field succeeded "$out")"
            record "concurrent.$mode.lagged" "$(field lagged "$out")"
        else
            record "concurrent.$mode.fail" "client: ${out:-no output} $(tail -c 300 "$WORK/client.err")"
            log "concurrent $mode failed: $out"
        fi
        stop_server "$WORK/concurrent/db"
    done
}

w_api() {
    local out
    start_server "$WORK/api/rules" "$WORK/api/db" sync || { record api.fail "serve did not start"; return 0; }
    if out="$(timeout "$TIMEOUT" "$CLIENT" load --url "$SERVER_URL" --chain TWO --jobs "$API_JOBS" \
        --concurrency "$API_CLIENTS" --timeout "$TIMEOUT" 2>>"$WORK/client.err")"; then
        record api "$(field ended_secs "$out")"
        record api.starts_per_s "$(field starts_per_s "$out")"
        record api.start_p50_ms "$(field start_p50_ms "$out")"
        record api.start_p99_ms "$(field start_p99_ms "$out")"
        record api.succeeded "$(field succeeded "$out")"
        record api.lagged "$(field lagged "$out")"
        record api.rss_kib "$(peak_rss_kib "$SERVER_PID")"
    else
        record api.fail "client: ${out:-no output} $(tail -c 300 "$WORK/client.err")"
        log "api failed: $out"
    fi
    stop_server "$WORK/api/db"
}

w_limits() {
    local out
    out="$("$CLIENT" spawn "$SPAWNS")" && record limits.spawn_us "$(field spawn_us "$out")"
    mkdir -p "$WORK/limits"
    out="$("$CLIENT" flush "$FLUSHES" "$WORK/limits")" && {
        record limits.sled_flush_us "$(field sled_flush_us "$out")"
        record limits.fdatasync_us "$(field fdatasync_us "$out")"
    }
    rm -rf "$WORK/limits"
}

# ---- report ---------------------------------------------------------------------------------

median() { # median FILE -> the median of its numeric lines, or empty
    [ -s "$1" ] || return 0
    grep -E '^[0-9.]+$' "$1" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) exit
        if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# These helpers always succeed (they are used in assignments under `set -e`).
maxof() { if [ -s "$1" ]; then grep -E '^[0-9.]+$' "$1" | sort -g | tail -1; fi; }
minof() { if [ -s "$1" ]; then grep -E '^[0-9.]+$' "$1" | sort -g | head -1; fi; }
count() { if [ -s "$1" ]; then awk '/^[0-9.]+$/ { n++ } END { print n + 0 }' "$1"; else echo 0; fi; }
# Human time from seconds: 1.23 s / 45.6 ms / 789 µs.
fmt_s() {
    [ -n "$1" ] || { echo "—"; return; }
    awk -v s="$1" 'BEGIN {
        if (s >= 1) printf "%.2f s", s; else if (s >= 0.001) printf "%.1f ms", s * 1e3; else printf "%.0f µs", s * 1e6 }'
}
div() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b != 0) printf "%.6f", a / b }'; fi; }
ratio() {
    if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else printf "—" }'; else echo "—"; fi
}

# One table row: row LABEL TOOL KEY STEPS MAKE_KEY NOTE
row() {
    local label="$1" tool="$2" key="$3" steps="$4" make_key="$5" note="${6:-}" med per runs fails=""
    med="$(median "$RES/$key")"
    runs="$(count "$RES/$key")"
    if [ -s "$RES/$key.fail" ]; then fails=" ($(wc -l <"$RES/$key.fail") failed: $(head -1 "$RES/$key.fail" | cut -c1-60))"; fi
    per="$(div "$med" "$steps")"
    local vs="—"
    if [ "$make_key" = "$key" ] && [ -n "$med" ]; then vs="1.00×"; elif [ -n "$make_key" ]; then vs="$(ratio "$med" "$(median "$RES/$make_key")")"; fi
    echo "| $label | $tool | $(fmt_s "$med") | $(fmt_s "$per") | $vs | $runs$fails | $note |"
}

machine() {
    local cpu disk fs dev rot
    cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    fs="$(df -PT "$WORK" | awk 'NR == 2 { print $1 " (" $2 ")" }')"
    dev="$(df -P "$WORK" | awk 'NR == 2 { print $1 }' | sed 's#/dev/##; s/[0-9]*$//; s/p$//')"
    rot="$(cat "/sys/block/$dev/queue/rotational" 2>/dev/null || echo '?')"
    case "$rot" in 0) disk="non-rotational" ;; 1) disk="reported rotational" ;; *) disk="kind unknown" ;; esac
    case "$dev" in vd*) disk="$disk (virtio block device: the flag says nothing of the medium)" ;; esac
    echo "- machine: $(nproc) cores (nproc), $cpu, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
    echo "- disk of the stores (\$TMPDIR): $fs, $disk; kernel $(uname -r)"
    echo "- $("$BIN" --version), $(make --version | head -1), ninja $(ninja --version)"
    echo "- commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$REPO" diff --quiet 2>/dev/null || echo ' (with local changes)'), $(date -u +%Y-%m-%dT%H:%MZ)"
}

report() {
    echo
    echo "## Results: medians of $ROUNDS round(s)"
    echo
    echo "- command: \`bash benches/peers.sh$( [ "$QUICK" = 1 ] && echo " --quick")$( [ -n "$ONLY" ] && echo " --only $ONLY") --rounds $ROUNDS\`"
    machine
    echo "- load average: $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo
    echo "| workload | tool | median wall | per step | vs make | runs | notes |"
    echo "|---|---|---|---|---|---|---|"
    if selected chain 1; then
        row "1. chain of $CHAIN_N /bin/true" chainsched chain.chainsched "$CHAIN_N" chain.make "sync store, fresh --db"
        row "" "make -j2" chain.make "$CHAIN_N" chain.make
        row "" "ninja -j2" chain.ninja "$CHAIN_N" chain.make "commands via /bin/sh -c"
    fi
    if selected fan 2; then
        local s=$((FAN_N + 2))
        row "2. A → $FAN_N × /bin/true → Z" chainsched fan.chainsched "$s" fan.make "all $FAN_N at once; sync store"
        row "" "make -j2" fan.make "$s" fan.make "2 at a time"
        row "" "ninja -j2" fan.ninja "$s" fan.make "2 at a time"
    fi
    if selected noop 3; then
        local n
        for n in $NOOP_NS; do
            row "3. chain of $n builtin noop" "chainsched sync" "noop$n.sync" "$n" "noop$n.make"
            row "" "chainsched relaxed" "noop$n.relaxed" "$n" "noop$n.make"
            row "" "chainsched :memory:" "noop$n.memory" "$n" "noop$n.make"
            row "" "make (no commands)" "noop$n.make" "$n" "noop$n.make" "graph walk only"
            row "" "ninja (no commands)" "noop$n.ninja" "$n" "noop$n.make" "graph walk only"
        done
    fi
    if selected sleep 4; then
        local tool key med sleeping
        sleeping="$(awk -v n="$SLEEP_N" 'BEGIN { printf "%.2f", n * 0.01 }')"
        for tool in chainsched make ninja; do
            key="sleep.$tool"
            med="$(median "$RES/$key")"
            row "$( [ $tool = chainsched ] && echo "4. $SLEEP_N × sleep 0.01 in sequence")" \
                "$tool$( [ $tool != chainsched ] && echo " -j2")" "$key" "$SLEEP_N" sleep.make \
                "overhead over ${sleeping} s of sleep: $(fmt_s "$(awk -v m="${med:-0}" -v s="$sleeping" 'BEGIN { if (m > 0) printf "%.6f", m - s }')")"
        done
    fi
    if selected concurrent 5; then
        local mode med steps=$((CONC_JOBS * CONC_STEPS))
        for mode in sync relaxed; do
            med="$(median "$RES/concurrent.$mode")"
            row "$( [ $mode = sync ] && echo "5. $CONC_JOBS concurrent $CONC_STEPS-step noop jobs (HTTP)")" \
                "chainsched serve $mode" "concurrent.$mode" "$steps" "" \
                "$(awk -v m="${med:-0}" -v s="$steps" 'BEGIN { if (m > 0) printf "%.0f steps/s", s / m }'); SUCCEEDED $(minof "$RES/concurrent.$mode.succeeded" || echo 0)/$CONC_JOBS (worst round)"
        done
    fi
    if selected api 6; then
        row "6. $API_JOBS jobs via POST /api/v1/jobs ($API_CLIENTS clients)" "chainsched serve sync" api "$((API_JOBS * 2))" "" \
            "$(median "$RES/api.starts_per_s" | awk '{ printf "%.0f", $1 }') starts/s (p50 $(median "$RES/api.start_p50_ms" | awk '{ printf "%.1f", $1 }') ms, p99 $(median "$RES/api.start_p99_ms" | awk '{ printf "%.1f", $1 }') ms); wall = all ended; SUCCEEDED $(minof "$RES/api.succeeded" || echo 0)/$API_JOBS (worst round); peak RSS $(maxof "$RES/api.rss_kib" | awk '{ printf "%.0f MiB", $1 / 1024 }')$( [ "$(maxof "$RES/api.lagged")" = 1 ] && echo "; event stream lagged, end seen via /metrics")"
        if [ -s "$RES/api.fail" ]; then echo "|  | (failed) |  |  |  |  | $(head -1 "$RES/api.fail" | cut -c1-120) |"; fi
    fi
    if selected limits 7; then
        echo
        echo "Physical limits on this machine (medians): posix_spawn + waitpid of /bin/true" \
            "$(median "$RES/limits.spawn_us" | awk '{ printf "%.0f µs", $1 }'); sled flush after a small insert" \
            "$(median "$RES/limits.sled_flush_us" | awk '{ printf "%.0f µs", $1 }'); write + fdatasync of a small file" \
            "$(median "$RES/limits.fdatasync_us" | awk '{ printf "%.0f µs", $1 }')."
    fi
    echo
    echo "Per step = median wall / steps (whole command: process start, rule-file load, store" \
        "open and flush at exit included). \"vs make\" = tool median / make median on the same workload."
}

# ---- main -------------------------------------------------------------------------------------

main() {
    setup "$@"
    LOAD0="$(cut -d' ' -f1-3 /proc/loadavg)"
    log "work folder $WORK; $ROUNDS round(s); timeout ${TIMEOUT}s per run"
    prepare
    for ((round = 1; round <= ROUNDS; round++)); do
        log "round $round/$ROUNDS"
        selected limits 7 && w_limits
        selected chain 1 && w_sequence chain "$round"
        selected fan 2 && w_fan "$round"
        selected noop 3 && w_noop "$round"
        selected sleep 4 && w_sequence sleep "$round"
        selected concurrent 5 && w_concurrent "$round"
        selected api 6 && w_api
    done
    report
}

main "$@"
exit $?
