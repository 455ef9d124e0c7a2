#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, summary.
# Honours PLENEXP_OUTPUT_ROOT (default ./outputs) and PYTHON.
source "$(dirname "$0")/../plenexp/cluster/demo_env.sh"
grid="$root/ps_noise/quick"

"$PYTHON" "$here/write_disbatch.py" "$grid/disbatch-cpu.txt" --grid quick \
    --output-root "$root" --skip-done
"$PYTHON" -m plenexp.cluster.disbatch_local "$grid/disbatch-cpu.txt"
# synthesize.py writes each run's table and figure: analyze.py only fills gaps
"$PYTHON" "$here/analyze.py" "$grid"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
echo "figures: $grid/summary/ (loss_by_noise_and_weights, contact_sheet_<image>)"
