#!/usr/bin/env bash
# Time a whole process (interpreter start-up and imports included): the start
# is exported (PLENEXP_PROCESS_START), so the run records its whole-process
# seconds itself, in its table and provenance, before it publishes (done.json
# stays the last file written); the elapsed seconds are printed at the end.
# SIGTERM, SIGINT and SIGHUP (scancel, a time limit, Ctrl-C) are passed on to
# the process as SIGTERM, which removes its partial run; its status is ours.
# If this script is killed outright (SIGKILL), the process is sent SIGTERM by
# the kernel (plenexp.cli.die_with_parent, via PLENEXP_PARENT_PID): it never
# publishes a run nobody reports.
# Usage: time_process.sh COMMAND [ARG...]
set -u
child=""
record=""
trap 'case "$record" in ""|/dev/fd/*) ;; *) rm -f "$record" ;; esac' EXIT
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
# Where the run writes its path once published: an open descriptor on the
# record, whose name is removed at once, so that nothing is left behind even
# if this script is killed outright (no trap runs then)
exec 9<>"$record"
if [ -e /dev/fd/9 ]; then
    rm -f "$record"
    record=/dev/fd/9
fi
export PLENEXP_RUN_DIR_RECORD="$record"
export PLENEXP_PARENT_PID=$$
start=$(date +%s.%N)
export PLENEXP_PROCESS_START="$start"
"$@" <&0 &
child=$!
wait "$child"
status=$?
child=""
end=$(date +%s.%N)
if [ "$status" -eq 0 ] && [ -s "$record" ]; then
    awk -v s="$start" -v e="$end" 'BEGIN { printf "whole process: %.3f s\n", e - s }'
fi
exit "$status"
