#!/usr/bin/env bash
# Time one whole synthesis process (interpreter, imports and MATLAB/Octave
# start-up included); the run records the
# whole-process seconds itself (process_duration) before it publishes.
# Usage: time_synthesize.sh [synthesize.py arguments]                  (plenoptic)
#        time_synthesize.sh matlab [ps_matlab/synthesize.py arguments]  (textureSynth)
here=$(cd "$(dirname "$0")" && pwd)
script="$here/synthesize.py"
if [ "${1-}" = matlab ]; then
    shift
    script="$here/../ps_matlab/synthesize.py"
fi
exec bash "$here/../plenexp/runs/time_process.sh" "${PYTHON:-python3}" "$script" "$@"
