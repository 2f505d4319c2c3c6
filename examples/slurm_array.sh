#!/bin/bash
# zipar batch as a Slurm job array: one zipar process per GPU, one shard of the job file per
# array task, all writing into one output directory; then a collect job merges the summaries.
#
#   bash examples/slurm_array.sh [SBATCH OPTIONS]    # from the zipar checkout: submits both
#   bash examples/slurm_array.sh --array=2,5         # later: just shards 2 and 5, and a collect
#
# submits, in effect (the options you give go to both sbatch calls, e.g. --partition=gpu):
#
#   sbatch --array=0-$((ZIPAR_SHARDS-1)) examples/slurm_array.sh               # the shards
#   sbatch --dependency=afterany:ARRAY --gres=none examples/slurm_array.sh collect
#
# Each task runs `zipar batch JOBS --out-dir OUT --shard auto --shard-count N`: the array task id
# is the shard index. Outputs are written atomically and a rerun skips finished ones, so:
# - preemption or a node failure: --requeue below puts the task back in the queue and the rerun
#   resumes where the killed one stopped;
# - a cancelled, timed-out or failed task: the collect job (afterany: it runs whatever the
#   array's outcome) exits 1 and its log ends with the command that resubmits just the shards
#   with missing jobs, and a collect after them (`bash examples/slurm_array.sh --array=2,5` with
#   these settings: sbatch takes the last --array given).
#
# Settings (environment variables, read at submission and passed on to the jobs):
#   ZIPAR_JOBS    job file (JSON Lines)                 default: jobs.jsonl
#   ZIPAR_OUT     output directory, shared by all tasks default: out
#   ZIPAR_SHARDS  array tasks = shards                  default: 8
#   ZIPAR_ARGS    backend and batch flags               default: the Python backend on CUDA
#   ZIPAR_HOME    the zipar checkout                    default: the directory you submit from
#   ZIPAR         the zipar command (e.g. a `deno compile` binary; default: deno run cli/main.ts)
#
#SBATCH --job-name=zipar-batch
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --mem=32G
#SBATCH --time=04:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=zipar-%A_%a.log
set -euo pipefail

export ZIPAR_HOME="${ZIPAR_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}"
export ZIPAR_JOBS="${ZIPAR_JOBS:-jobs.jsonl}"
export ZIPAR_OUT="${ZIPAR_OUT:-out}"
export ZIPAR_SHARDS="${ZIPAR_SHARDS:-8}"
export ZIPAR_ARGS="${ZIPAR_ARGS:---backend python --model models/gpt-l --device cuda --max-batch 32}"
# The Python worker runs in the checkout's venv (deno task setup makes it: torch, transformers);
# Slurm sets CUDA_VISIBLE_DEVICES to the task's one GPU, so --device cuda is that GPU.
if [ -z "${ZIPAR_PYTHON:-}" ] && [ -x "$ZIPAR_HOME/.venv/bin/python" ]; then
  export ZIPAR_PYTHON="$ZIPAR_HOME/.venv/bin/python"
fi

zipar() {
  if [ -n "${ZIPAR:-}" ]; then
    $ZIPAR "$@"
  else
    deno run --allow-read --allow-write --allow-run --allow-env "$ZIPAR_HOME/cli/main.ts" "$@"
  fi
}

if [ -z "${SLURM_JOB_ID:-}" ]; then
  # Not in a job yet: submit the array, then the collect job that waits for all of it.
  ZIPAR_SCRIPT="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
  export ZIPAR_SCRIPT
  array=$(sbatch --parsable --array="0-$((ZIPAR_SHARDS - 1))" "$@" "$0")
  array=${array%%;*}
  collect=$(sbatch --parsable --dependency="afterany:$array" --gres=none --cpus-per-task=1 \
    --mem=4G --time=00:30:00 --no-requeue --output="zipar-collect-%j.log" "$@" "$0" collect)
  echo "zipar: submitted array $array (--shard-count $ZIPAR_SHARDS) and collect job ${collect%%;*}"
  exit 0
fi

if [ "${1:-}" = collect ]; then
  # Exit 1 (job FAILED) while any job failed or is missing, with the shards to rerun.
  status=0
  report=$(zipar batch "$ZIPAR_JOBS" --collect "$ZIPAR_OUT" --shard-count "$ZIPAR_SHARDS" 2>&1) ||
    status=$?
  echo "$report" >&2
  shards=$(sed -n 's/.* in shards \([0-9,-]*\) of [0-9]*:.*/\1/p' <<<"$report")
  if [ -n "$shards" ]; then
    printf 'zipar: resubmit: ' >&2
    for v in ZIPAR_HOME ZIPAR_JOBS ZIPAR_OUT ZIPAR_SHARDS ZIPAR_ARGS; do
      printf '%s=%q ' "$v" "${!v}" >&2
    done
    printf 'bash %q --array=%s\n' "${ZIPAR_SCRIPT:-$ZIPAR_HOME/examples/slurm_array.sh}" \
      "$shards" >&2
  fi
  exit "$status"
fi

echo "zipar: task ${SLURM_ARRAY_TASK_ID:-?} of array ${SLURM_ARRAY_JOB_ID:-?} on ${HOSTNAME:-?}, GPU ${CUDA_VISIBLE_DEVICES:-none}, restart ${SLURM_RESTART_COUNT:-0}" >&2
# One array task: one GPU, one shard. exec: Slurm's SIGTERM (preemption, scancel, time limit)
# reaches zipar itself, which keeps every finished output and removes its temporary files.
# shellcheck disable=SC2086 # ZIPAR_ARGS is a list of flags
exec_zipar=(batch "$ZIPAR_JOBS" --out-dir "$ZIPAR_OUT" --shard auto --shard-count "$ZIPAR_SHARDS" $ZIPAR_ARGS)
if [ -n "${ZIPAR:-}" ]; then
  # shellcheck disable=SC2086 # ZIPAR may be a command with arguments
  exec $ZIPAR "${exec_zipar[@]}"
fi
exec deno run --allow-read --allow-write --allow-run --allow-env "$ZIPAR_HOME/cli/main.ts" \
  "${exec_zipar[@]}"
