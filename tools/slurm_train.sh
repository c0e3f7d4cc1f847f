#!/usr/bin/env bash
# Training on a SLURM cluster: one task per GPU, any number of nodes.
#   tools/slurm_train.sh PARTITION JOB_NAME CONFIG NUM_GPUS [train.py args...]
# Environment: GPUS_PER_NODE (default 8, or NUM_GPUS if fewer), CPUS_PER_TASK (default 5), SRUN_ARGS (extra srun
# options, e.g. "--time=72:00:00"), PYTHON (default python), MASTER_PORT (default 29500).
# Each task runs tools/train.py --launcher slurm, which reads SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID /
# SLURM_NODELIST (see docs/distributed.md). Resume a preempted job by running the same command with --resume.
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: $0 PARTITION JOB_NAME CONFIG NUM_GPUS [--work-dir DIR] [--resume] [--cfg-options k=v ...]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
GPUS=$4
shift 4
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
PYTHON=${PYTHON:-python}
DIR="$(cd "$(dirname "$0")" && pwd)"
export MASTER_PORT=${MASTER_PORT:-29500}
# shellcheck disable=SC2086
exec srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
  "$PYTHON" -u "$DIR/train.py" "$CONFIG" --launcher slurm "$@"
