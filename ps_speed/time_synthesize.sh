#!/usr/bin/env bash
# Time one whole synthesize.py process (start-up and imports included); the
# elapsed seconds land in the run directory as process_time.json.
# Usage: time_synthesize.sh [synthesize.py arguments]
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../plenexp/runs/time_process.sh" "${PYTHON:-python3}" "$here/synthesize.py" "$@"
