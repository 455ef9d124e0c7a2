#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, each run's
# table and figure (analyze.py), summary. Needs MATLAB or GNU Octave and local copies of
# textureSynth and matlabPyrTools; without them it prints why in one line and exits 0.
# Honours PLENEXP_OUTPUT_ROOT (default ./outputs) and PYTHON.
source "$(dirname "$0")/../plenexp/cluster/demo_env.sh"
grid="$root/ps_matlab/quick"

if ! setup=$(cd "$repo" && "$PYTHON" -m plenexp.synth.matlab 2>&1); then
    # the check's own words say what is missing and how to get it
    echo "ps_matlab skipped: ${setup##*error: }"
    exit 0
fi
echo "ps_matlab: $setup"

"$PYTHON" "$here/write_disbatch.py" "$grid/disbatch-cpu.txt" --grid quick \
    --output-root "$root" --skip-done
"$PYTHON" -m plenexp.cluster.disbatch_local "$grid/disbatch-cpu.txt"
"$PYTHON" "$here/analyze.py" "$grid"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
echo "figures: ps_matlab.png in each run directory and $grid/summary/"
