#!/bin/bash
# Train the tiny example on a Slurm allocation.
#
#   sbatch examples/sbatch.sh                        # the tiny example (examples/tiny.yaml)
#   sbatch examples/sbatch.sh -- PROGRAM [ARGS...]   # any program as the ranks, like mpirun
#   sbatch --nodes=4 --ntasks-per-node=8 examples/sbatch.sh   # sbatch's flags win over these
#
# ogai-run sees SLURM_JOB_ID and starts one agent per node of the allocation with
# `srun --ntasks-per-node=1`; each agent starts that node's ranks (--ntasks-per-node slots per
# node) and watches them. Submit from the ogai folder (or set OGAI_RUN to ogai-run's path).
#SBATCH --job-name=ogai-tiny
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --time=00:30:00
#SBATCH --output=ogai-%j.out
set -euo pipefail
# The job starts in the folder it was submitted from (or sbatch --chdir); paths below are
# relative to it. ($0 is a copy in Slurm's spool folder, so it cannot locate ogai.)
OGAI_RUN="${OGAI_RUN:-build/bin/ogai-run}"
if [ ! -x "$OGAI_RUN" ]; then
  echo "sbatch.sh: $OGAI_RUN not found: build ogai first (scripts/build.sh), submit from the" \
       "ogai folder, or set OGAI_RUN" >&2
  exit 2
fi
if [ "$#" -gt 0 ]; then
  exec "$OGAI_RUN" "$@"
fi
exec "$OGAI_RUN" examples/tiny.yaml
