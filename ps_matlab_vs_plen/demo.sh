#!/usr/bin/env bash
# The quick grid end to end, in its quick-longest form (the same losses at every
# budget from one plenoptic run per configuration, 6 runs instead of 24; see
# the README's grids): initial images, plenoptic runs (always) and MATLAB
# runs (when Octave or MATLAB and the textureSynth code are available), each
# through disBatch on this machine, then analysis and the summary (figures,
# metamers at equal budgets, best method per budget). Honours
# PLENEXP_OUTPUT_ROOT (default ./outputs) and PYTHON.
source "$(dirname "$0")/../plenexp/cluster/demo_env.sh"
grid_name=quick-longest
grid="$root/ps_matlab_vs_plen/$grid_name"

"$PYTHON" "$here/generate_init_imgs.py" --size 128 --seeds 0 1 --output-root "$root"

"$PYTHON" "$here/write_disbatch.py" "$grid/plenoptic-cpu.txt" --grid "$grid_name" \
    --output-root "$root" --skip-done
"$PYTHON" -m plenexp.cluster.disbatch_local "$grid/plenoptic-cpu.txt"

if setup=$(cd "$repo" && "$PYTHON" -m plenexp.synth.matlab 2>&1); then
    echo "MATLAB side: $setup"
    "$PYTHON" "$here/write_disbatch.py" "$grid/matlab-cpu.txt" --grid "$grid_name" \
        --side matlab --output-root "$root" --skip-done
    "$PYTHON" -m plenexp.cluster.disbatch_local "$grid/matlab-cpu.txt"
else
    echo "MATLAB side skipped: ${setup##*error: }"
fi

"$PYTHON" "$here/analyze.py" "$grid"
"$PYTHON" "$here/summarize.py" --grid "$grid_name" --output-root "$root"
echo "figures: $grid/summary/ (metamers at equal budgets in $grid/summary/metamers/)"
