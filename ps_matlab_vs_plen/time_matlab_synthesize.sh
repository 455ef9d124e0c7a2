#!/usr/bin/env bash
# Time one whole MATLAB synthesis process (interpreter, MATLAB/Octave start-up
# included) through ps_matlab's runner; the elapsed seconds land in the run
# directory as process_time.json.
# Usage: time_matlab_synthesize.sh [ps_matlab/synthesize.py arguments]
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../plenexp/time_process.sh" "${PYTHON:-python3}" "$here/../ps_matlab/synthesize.py" "$@"
