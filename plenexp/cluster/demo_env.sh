# Sourced by every <experiment>/demo.sh: strict mode, where things are, which
# Python (PYTHON, else the repository's .venv, else python3) and the output
# root (PLENEXP_OUTPUT_ROOT, else ./outputs).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
repo=$(cd "$here/.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    PYTHON=python3
    [ -x "$repo/.venv/bin/python" ] && PYTHON="$repo/.venv/bin/python"
fi
export PYTHON
root=${PLENEXP_OUTPUT_ROOT:-./outputs}
