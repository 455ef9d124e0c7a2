#!/usr/bin/env bash
# Profile a whole process (its children included) with py-spy and leave the
# profile beside the run directory, next to its log:
#   RUN_DIR.profile.speedscope.json  (open at https://www.speedscope.app)
#   RUN_DIR.profile.svg              (flame graph)
# The command's exit status is kept. Without py-spy the command runs
# unprofiled, with a warning. Extra py-spy options (e.g. --native) can be given
# in PLENEXP_PYSPY_ARGS; the sampling rate in PLENEXP_PROFILE_RATE (default 100).
# Usage: profile_process.sh RUN_DIR COMMAND [ARG...]
set -u
if [ "$#" -lt 2 ]; then
    echo "usage: profile_process.sh RUN_DIR COMMAND [ARG...]" >&2
    exit 2
fi
run_dir=${1%/}
shift
python=${PYTHON:-python3}
pyspy=$(command -v py-spy || true)
if [ -z "$pyspy" ] && [ -x "$(dirname "$python")/py-spy" ]; then
    pyspy="$(dirname "$python")/py-spy"
fi
if [ -z "$pyspy" ]; then
    echo "warning: py-spy not found (pip install py-spy): running unprofiled" >&2
    exec "$@"
fi
mkdir -p "$(dirname "$run_dir")"
profile="$run_dir.profile.speedscope.json"
status_file=$(mktemp "${TMPDIR:-/tmp}/plenexp-profile-status.XXXXXX")
partial="$profile.partial-$$"
trap 'rm -f "$status_file" "$partial"' EXIT
# py-spy launches the command itself (no ptrace permission needed beyond its
# own children), but exits 0 whatever the command did and kills a non-Python
# parent of the last Python process: a small Python parent waits for the
# command and keeps its exit status in a file.
# shellcheck disable=SC2086
"$pyspy" record --subprocesses --rate "${PLENEXP_PROFILE_RATE:-100}" \
    --format speedscope --output "$partial" ${PLENEXP_PYSPY_ARGS:-} \
    -- "$python" -c 'import subprocess, sys
status = subprocess.call(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    f.write(f"{status if status >= 0 else 128 - status}\n")' "$status_file" "$@"
pyspy_status=$?
status=$(cat "$status_file")
if [ -z "$status" ]; then
    echo "py-spy failed (status $pyspy_status) before the command finished" >&2
    exit "$(( pyspy_status ? pyspy_status : 1 ))"
fi
if [ -s "$partial" ]; then
    mv -f "$partial" "$profile"
    "$python" -m plenexp.runs.profiling "$profile" --svg "$run_dir.profile.svg" \
        --title "$(basename "$run_dir")" \
        || echo "warning: no flame graph drawn from $profile" >&2
fi
exit "$status"
