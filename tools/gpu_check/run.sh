#!/bin/sh
# zipar's prepared GPU check: one NVIDIA GPU (H100/H200 class), Python with torch (+ Triton)
# and transformers; no Deno, no network. Writes the Markdown report to REPORT.md (rewritten
# after every row, so a killed run still leaves one), prints it at the end, and stops within
# 470 s (the driver's budget is 420 s; rows that would not fit are skipped by name).
#   sh tools/gpu_check/run.sh REPORT.md [driver options]
#   e.g. sh tools/gpu_check/run.sh /tmp/report.md --llamagen-src ~/LlamaGen
# Driver options: --llamagen-src DIR (official LlamaGen peer rows), --no-janus, --budget-s S,
# --debug (tracebacks of failed rows). ZIPAR_PYTHON picks the interpreter (default python3).
set -eu
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: sh tools/gpu_check/run.sh REPORT.md [driver options]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
out=$1
shift
python=${ZIPAR_PYTHON:-python3}
# SIGTERM at 470 s lets the driver note the kill in the report; SIGKILL 10 s later if need be.
exec timeout -k 10 470 "$python" "$here/driver.py" "$out" --budget-s 420 "$@"
