#!/usr/bin/env bash
# On a machine with a CUDA GPU: the smoke grid of every experiment that runs on
# GPUs, with --device cuda, through disBatch, then the overhead benchmark on
# the GPU; prints the card, each run's loss, times and GPU memory.
# ps_matlab (MATLAB/Octave) runs on CPUs only and is left out.
# Usage: benchmarks/gpu_check.sh [OUTPUT_ROOT]   (default: a temporary directory)
# Honours PYTHON (default: the repository's .venv, else python3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$repo/.venv/bin/python" ] && PYTHON="$repo/.venv/bin/python"
fi
export PYTHON
root=${1:-$(mktemp -d "${TMPDIR:-/tmp}/plenexp-gpu-check.XXXXXX")}
cd "$repo"
"$PYTHON" - <<'EOF'
import sys
import torch
if not torch.cuda.is_available():
    sys.exit(f"no CUDA device visible to torch {torch.__version__}: nothing to check")
print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
      f"CUDA {torch.version.cuda}")
EOF
"$PYTHON" ps_matlab_vs_plen/generate_init_imgs.py --size 128 --seeds 0 \
    --output-root "$root"
for writer in ps_lbfgs/write_disbatch.py ps_noise/write_disbatch.py \
        ps_matlab_vs_plen/write_disbatch.py; do
    experiment=${writer%%/*}
    taskfile="$root/$experiment/smoke/gpu-$(basename "$writer" .py).txt"
    "$PYTHON" "$writer" "$taskfile" --grid smoke --device cuda --output-root "$root"
    "$PYTHON" -m plenexp.cluster.disbatch_local "$taskfile" || echo "$experiment: some task failed"
done
"$PYTHON" - "$root" <<'EOF'
import sys
from plenexp import provenance, results, rundir
for run in sorted(rundir.done_runs(sys.argv[1])):
    record = provenance.load(run)
    try:
        loss = f"{float(results.read_rows(run / 'loss.csv')[0]['loss']):.4g}"
    except (OSError, ValueError, KeyError):
        loss = "?"
    synth = record.get("synth_duration") or record.get("synth_time")
    synth = f"{synth:.2f} s" if isinstance(synth, float) else "?"
    print(f"{run.parent.parent.name}/{run.name}: {record.get('device_name')}, "
          f"loss {loss}, synthesis {synth}, whole process "
          f"{record.get('process_duration')} s, GPU peak "
          f"{record.get('gpu_max_allocated_mb')} MB")
EOF
"$PYTHON" benchmarks/overhead.py --device cuda --repeat 2
echo "runs under $root"
