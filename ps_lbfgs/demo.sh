#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, summary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$repo/.venv/bin/python" ] && PYTHON="$repo/.venv/bin/python"
fi
root=${PLENEXP_OUTPUT_ROOT:-./outputs}
taskfile="$root/ps_lbfgs/quick/disbatch-cpu.txt"

"$PYTHON" "$here/write_disbatch.py" "$taskfile" --grid quick --output-root "$root" --skip-done
"$PYTHON" -m plenexp.disbatch_local "$taskfile"
"$PYTHON" "$here/analyze.py" "$root/ps_lbfgs/quick"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
