#!/usr/bin/env bash
# requeue.sh - jobs/train.sbatch on a real one-node Slurm cluster: a job is signalled as at its
# time limit (SIGUSR1 to the batch script), checkpoints, requeues itself, resumes with
# --auto-resume and finishes; the result is bitwise identical to an uninterrupted run.
#   requeue.sh MAF SBATCH_SCRIPT CONFIG
set -uo pipefail
MAF=$1 SCRIPT=$2 CFG=$3 HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/maf-slurm-XXXXXX)
source "$HERE/cluster.sh"
cleanup() { [ -n "${JOB:-}" ] && scancel "$JOB" 2>/dev/null; slurm_down; rm -rf "$W"; }
trap cleanup EXIT
fail() {
  echo "FAIL [slurm requeue]: $*"
  [ -f "$W/job.out" ] && tail -20 "$W/job.out"
  scontrol show job "$JOB" 2>/dev/null | grep -E "JobState|Reason|ExitCode|Restarts"
  tail -n 15 "$W"/slurm/log/*
  exit 1
}
ok() { echo "ok   [slurm requeue]: $*"; }
state() { scontrol show job "$JOB" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
  local t=$1; shift
  for _ in $(seq $((t * 5))); do "$@" && return 0; sleep 0.2; done
  return 1
}
slurm_up "$W/slurm" 2 || fail "could not start the cluster"
ok "one-node cluster up (slurmctld + slurmd, munge)"
export OPENBLAS_NUM_THREADS=1
ARGS=(--set data.path=builtin:gauss16 --set data.builtin_rows=20000 --set model.blocks=5
      --set model.hidden=64 --set model.layers=2 --set train.batch_size=256
      --set train.max_steps=4000 --set train.eval_every=200)
JOB=$(sbatch --parsable --ntasks=2 --chdir="$W" --output="$W/job.out" --export=ALL,MAF="$MAF" \
  "$SCRIPT" "$CFG" "${ARGS[@]}" --set output.dir="$W/run") || fail "sbatch"
wait_for 60 test -f "$W/run/latest.h5" || fail "the job wrote no checkpoint"
sleep 1
[ "$(state)" = RUNNING ] || fail "job not running ($(state))"
scancel --batch --signal=USR1 "$JOB" || fail "scancel --signal"
wait_for 60 bash -c "[ \"\$(scontrol show job $JOB | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')\" = PENDING ]" ||
  fail "the job did not requeue itself (state $(state))"
step=$("$MAF" info --get step "$W/run/latest.h5")
grep -q "requeueing" "$W/job.out" || fail "no requeue line in the job output"
ok "SIGUSR1 to the batch script: ranks stopped at step $step, exit 75, job requeued"
# the requeued job becomes eligible again once its old credential has expired (cred_expire)
wait_for 120 bash -c "[ \"\$(scontrol show job $JOB | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')\" = COMPLETED ]" ||
  fail "the requeued job did not complete (state $(state))"
grep -q "run 1 on" "$W/job.out" || fail "the second run did not see SLURM_RESTART_COUNT=1"
grep -q "resuming from latest.h5" "$W/job.out" || fail "the second run did not resume"
[ "$("$MAF" info --get finished "$W/run/latest.h5")" = 1 ] && [ "$("$MAF" info --get step "$W/run/latest.h5")" = 4000 ] ||
  fail "the run did not finish at step 4000"
ok "second run resumed from step $step and finished at step 4000"
# the same run without interruption, as one job step of the same cluster
srun -n 2 --mpi=pmix "$MAF" train -q -c "$CFG" "${ARGS[@]}" --set output.dir="$W/ref" >"$W/ref.out" 2>&1 ||
  { cat "$W/ref.out"; fail "uninterrupted run"; }
for g in /model /adam /best; do
  h5diff -r "$W/ref/latest.h5" "$W/run/latest.h5" $g $g >"$W/diff.txt" 2>&1 || { head "$W/diff.txt"; fail "$g differs"; }
done
ok "bitwise identical to an uninterrupted run"
JOB=
echo "1 passed, 0 failed"
