#!/bin/sh
# zipar's prepared GPU check: one NVIDIA GPU (H200/A100 class), Python with torch and
# transformers installed; no Deno, no network. Writes gpu_check_report.md (or $1) in under
# 8 minutes and prints it. Extra arguments go to driver.py (--no-janus, --budget-s S, ...).
#   sh tools/gpu_check/run.sh [REPORT.md] [driver options]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-gpu_check_report.md}
[ $# -gt 0 ] && shift
python=${ZIPAR_PYTHON:-python3}
exec timeout 470 "$python" "$here/driver.py" --out "$out" --budget-s 400 "$@"
