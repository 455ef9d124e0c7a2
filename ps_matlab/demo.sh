#!/usr/bin/env bash
# The quick grid end to end: task file, disBatch on this machine, each run's
# table and figure (analyze.py), summary. Needs MATLAB or GNU Octave and local copies of
# textureSynth and matlabPyrTools; without them it prints one line and exits 0.
# Honours PLENEXP_OUTPUT_ROOT (default ./outputs) and PYTHON.
source "$(dirname "$0")/../plenexp/cluster/demo_env.sh"
grid="$root/ps_matlab/quick"

if ! setup=$(cd "$repo" && "$PYTHON" -m plenexp.synth.matlab 2>&1); then
    reason=${setup#*error: }
    echo "ps_matlab skipped (${reason%%: *}): to enable it, install GNU Octave" \
        "(apt-get install octave) or MATLAB and set TEXTURESYNTH_DIR and" \
        "MATLABPYRTOOLS_DIR to clones of" \
        "github.com/LabForComputationalVision/{textureSynth,matlabPyrTools}"
    exit 0
fi
echo "ps_matlab: $setup"

"$PYTHON" "$here/write_disbatch.py" "$grid/disbatch-cpu.txt" --grid quick \
    --output-root "$root" --skip-done
"$PYTHON" -m plenexp.cluster.disbatch_local "$grid/disbatch-cpu.txt"
"$PYTHON" "$here/analyze.py" "$grid"
"$PYTHON" "$here/summarize.py" --grid quick --output-root "$root"
echo "figures: ps_matlab.png in each run directory and $grid/summary/"
