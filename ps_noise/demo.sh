#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, summary.
# Honours PLENEXP_OUTPUT_ROOT (default ./outputs) and PYTHON.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$repo/.venv/bin/python" ] && PYTHON="$repo/.venv/bin/python"
fi
export PYTHON
root=${PLENEXP_OUTPUT_ROOT:-./outputs}
grid="$root/ps_noise/quick"

"$PYTHON" "$here/write_disbatch.py" "$grid/disbatch-cpu.txt" --grid quick \
    --output-root "$root" --skip-done
"$PYTHON" -m plenexp.disbatch_local "$grid/disbatch-cpu.txt"
# synthesize.py writes each run's table and figure: analyze.py only fills gaps
"$PYTHON" "$here/analyze.py" "$grid"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
echo "figures: $grid/summary/ (loss_by_noise_and_weights, contact_sheet_<image>)"
