#!/usr/bin/env bash
# Time a whole process (interpreter start-up and imports included) and record
# the elapsed seconds in the run directory that the process published.
# SIGTERM, SIGINT and SIGHUP (scancel, a time limit, Ctrl-C) are passed on to
# the process as SIGTERM, which removes its partial run; its status is ours.
# If this script is killed outright (SIGKILL), the process is sent SIGTERM by
# the kernel (plenexp.cli.die_with_parent, via PLENEXP_PARENT_PID): it never
# publishes a run nobody reports.
# Usage: time_process.sh COMMAND [ARG...]
set -u
child=""
record=""
trap '[ -z "$record" ] || rm -f "$record"' EXIT
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
record=$(mktemp "${TMPDIR:-/tmp}/plenexp-run-dir.XXXXXX") || exit 1
export PLENEXP_RUN_DIR_RECORD="$record"
export PLENEXP_PARENT_PID=$$
start=$(date +%s.%N)
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=""
end=$(date +%s.%N)
run_dir=$(head -n 1 "$record")
if [ "$status" -eq 0 ] && [ -n "$run_dir" ] && [ -d "$run_dir" ] \
    && [ ! -L "$run_dir" ]; then
    elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    dest="$run_dir/process_time.json"
    # a fresh temporary name (mktemp: O_EXCL, never through a planted link),
    # renamed over whatever stands at the destination (a link itself)
    if tmp=$(mktemp "$run_dir/.process_time.json.tmp-$$.XXXXXX") \
        && chmod 644 "$tmp" \
        && printf '{"elapsed_s": %s, "start_epoch": %s, "end_epoch": %s, "host": "%s"}\n' \
        "$elapsed" "$start" "$end" "$(hostname)" > "$tmp" \
        && { [ ! -L "$dest" ] || rm -f "$dest"; } && [ ! -d "$dest" ] \
        && mv -f "$tmp" "$dest"; then
        echo "whole process: ${elapsed} s"
    else
        rm -f "${tmp:-}"  # a full disk: the run stands, without its process time
        echo "time_process.sh: could not record the process time in $run_dir" >&2
    fi
fi
exit "$status"
