#!/usr/bin/env bash
# Time a whole process (interpreter start-up and imports included) and record
# the elapsed seconds in the run directory that the process published.
# Usage: time_process.sh COMMAND [ARG...]
set -u
record=$(mktemp "${TMPDIR:-/tmp}/plenexp-run-dir.XXXXXX")
trap 'rm -f "$record"' EXIT
export PLENEXP_RUN_DIR_RECORD="$record"
start=$(date +%s.%N)
"$@"
status=$?
end=$(date +%s.%N)
run_dir=$(head -n 1 "$record")
if [ "$status" -eq 0 ] && [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
    elapsed=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.3f", e - s }')
    tmp="$run_dir/.process_time.json.tmp-$$"
    printf '{"elapsed_s": %s, "start_epoch": %s, "end_epoch": %s, "host": "%s"}\n' \
        "$elapsed" "$start" "$end" "$(hostname)" > "$tmp"
    mv -f "$tmp" "$run_dir/process_time.json"
    echo "whole process: ${elapsed} s"
fi
exit "$status"
