#!/usr/bin/env bash
# Time a whole process (interpreter start-up and imports included) and record
# the elapsed seconds in the run directory that the process published.
# SIGTERM, SIGINT and SIGHUP (scancel, a time limit, Ctrl-C) are passed on to
# the process as SIGTERM, which removes its partial run; its status is ours.
# Usage: time_process.sh COMMAND [ARG...]
set -u
record=$(mktemp "${TMPDIR:-/tmp}/plenexp-run-dir.XXXXXX")
trap 'rm -f "$record"' EXIT
export PLENEXP_RUN_DIR_RECORD="$record"
child=""
stop() {
    # (a background command ignores SIGINT, so it always gets SIGTERM)
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null
        wait "$child"
    fi
    exit "$1"
}
trap 'stop 143' TERM
trap 'stop 130' INT
trap 'stop 129' HUP
start=$(date +%s.%N)
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=""
end=$(date +%s.%N)
run_dir=$(head -n 1 "$record")
if [ "$status" -eq 0 ] && [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
    elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    tmp="$run_dir/.process_time.json.tmp-$$"
    if printf '{"elapsed_s": %s, "start_epoch": %s, "end_epoch": %s, "host": "%s"}\n' \
        "$elapsed" "$start" "$end" "$(hostname)" > "$tmp" \
        && mv -f "$tmp" "$run_dir/process_time.json"; then
        echo "whole process: ${elapsed} s"
    else
        rm -f "$tmp"  # a full disk: the run stands, without its process time
        echo "time_process.sh: could not record the process time in $run_dir" >&2
    fi
fi
exit "$status"
