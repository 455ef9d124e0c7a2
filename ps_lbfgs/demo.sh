#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, summary.
source "$(dirname "$0")/../plenexp/cluster/demo_env.sh"
taskfile="$root/ps_lbfgs/quick/disbatch-cpu.txt"

"$PYTHON" "$here/write_disbatch.py" "$taskfile" --grid quick --output-root "$root" --skip-done
"$PYTHON" -m plenexp.cluster.disbatch_local "$taskfile"
"$PYTHON" "$here/analyze.py" "$root/ps_lbfgs/quick"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
