#!/usr/bin/env bash
# Time one whole synthesize.py process (start-up and imports included); the run
# records the whole-process seconds itself (process_duration) before it publishes.
# Usage: time_synthesize.sh [synthesize.py arguments]
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../plenexp/runs/time_process.sh" "${PYTHON:-python3}" "$here/synthesize.py" "$@"
