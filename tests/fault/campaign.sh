#!/usr/bin/env bash
# campaign.sh - fault campaign against `maf train` (real mpirun ranks, real files).
#   campaign.sh MAF ENOSPC_SHIM CONFIG_DIR [KILLS [DISKFULLS [NP [SEED]]]]
# 1. KILLS times: kill -9 a random rank process at a random moment of a training run, then
#    continue with --auto-resume; at the end the model, Adam state and best model must be
#    bitwise identical to an uninterrupted run's (same machine, same rank count).
# 2. DISKFULLS times: a run resumed from the same checkpoint finds the disk full after a random
#    number of bytes of its file writes (LD_PRELOAD shim): it must stop with exit 1 and one "No
#    space left on device" line naming a file, leave no temporary, every file must still load,
#    and once there is space the run must continue and end bitwise identical to a run that never
#    met a full disk.
# Prints one line per round and a summary; exits 1 on the first failure.
set -uo pipefail
MAF=$1 ENOSPC=$2 CFG=$3/tiny.ini KILLS=${4:-20} DISKFULLS=${5:-20} NP=${6:-2} SEED=${7:-$$}
RANDOM=$SEED
W=$(mktemp -d /tmp/maf-fault-XXXXXX)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1 OPENBLAS_NUM_THREADS=1
STEPS=$((1500 * (KILLS + 1)))
ARGS=(--set train.max_steps=$STEPS --set train.eval_every=25 --set train.patience=1000000)
fail() { echo "FAIL [campaign seed $SEED]: $*"; exit 1; }
get() { "$MAF" info --get "$1" "$2"; }
same_state() {
  for g in /model /adam /best; do
    h5diff -r "$1" "$2" $g $g >"$W/diff.txt" 2>&1 || { head "$W/diff.txt"; fail "$g differs"; }
  done
}
echo "fault campaign: seed $SEED, $KILLS kills, $DISKFULLS disk-full points, $NP ranks, $STEPS steps"
t0=$(date +%s.%N)
timeout 300 mpirun -n "$NP" "$MAF" train -q -c "$CFG" "${ARGS[@]}" --set output.dir="$W/ref" \
  >"$W/ref.txt" 2>&1 || { cat "$W/ref.txt"; fail "the uninterrupted run"; }
run_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
echo "uninterrupted run: ${run_s} s"

# ---- 1. kill -9 at random moments
restarts=0 killed=0 before_first=0 finished_early=0
for i in $(seq "$KILLS"); do
  timeout 300 mpirun -n "$NP" "$MAF" train -q -c "$CFG" "${ARGS[@]}" --set output.dir="$W/k" \
    --auto-resume >"$W/k.txt" 2>&1 &
  launcher=$!
  # uniform in [0.1, 1.3] s: some kills land in the start-up, before the first checkpoint
  delay=$(awk -v r=$RANDOM 'BEGIN { printf "%.3f", 0.1 + (r / 32768) * 1.2 }')
  sleep "$delay"
  victims=($(pgrep -f "^$MAF train -q -c $CFG .*output.dir=$W/k "))
  if [ ${#victims[@]} -eq 0 ]; then
    wait $launcher; rc=$?
    finished_early=$((finished_early + 1))
    echo "kill $i: the run ended before the kill at ${delay} s (exit $rc)"
    [ $rc -eq 0 ] || { cat "$W/k.txt"; fail "exit $rc"; }
    break
  fi
  victim=${victims[$((RANDOM % ${#victims[@]}))]}
  step=$( [ -f "$W/k/latest.h5" ] && get step "$W/k/latest.h5" || echo none)
  kill -KILL "$victim" 2>/dev/null
  wait $launcher; rc=$?
  killed=$((killed + 1))
  [ "$step" = none ] && before_first=$((before_first + 1))
  for f in "$W/k"/*.h5; do
    [ -e "$f" ] || continue
    "$MAF" info "$f" >/dev/null 2>&1 || fail "kill $i: $f does not load after the kill"
  done
  echo "kill $i: pid $victim after ${delay} s (latest.h5 then at step $step; launcher exit $rc); every file loads"
done
# continue to the end
while :; do
  timeout 300 mpirun -n "$NP" "$MAF" train -q -c "$CFG" "${ARGS[@]}" --set output.dir="$W/k" \
    --auto-resume >"$W/k.txt" 2>&1; rc=$?
  restarts=$((restarts + 1))
  [ $rc -eq 0 ] && break
  [ $restarts -gt 3 ] && { cat "$W/k.txt"; fail "the run does not complete after the kills (exit $rc)"; }
done
[ "$(get finished "$W/k/latest.h5")" = 1 ] && [ "$(get step "$W/k/latest.h5")" = "$(get step "$W/ref/latest.h5")" ] ||
  fail "the killed run did not finish at the uninterrupted run's step $(get step "$W/ref/latest.h5")"
same_state "$W/ref/latest.h5" "$W/k/latest.h5"
echo "kills: $killed (of them $before_first before the first checkpoint); the run completed and is bitwise identical to the uninterrupted one (model, adam, best)"

# ---- 2. the disk fills up at random points of the file writes
full=0 T=300
mpi() { timeout 300 mpirun -n "$NP" "$MAF" train -q -c "$CFG" --set train.eval_every=25 "$@"; }
mpi --set train.max_steps=100 --set output.dir="$W/base" >"$W/d.txt" 2>&1 ||
  { cat "$W/d.txt"; fail "disk-full base run"; }
cp -a "$W/base" "$W/dref"
mpi --set train.max_steps=$T --set output.dir="$W/dref" --resume >"$W/d.txt" 2>&1 ||
  { cat "$W/d.txt"; fail "disk-full reference run"; }
for i in $(seq "$DISKFULLS"); do
  after=$(( (RANDOM * 32768 + RANDOM) % 800000 ))
  rm -rf "$W/d"; cp -a "$W/base" "$W/d"
  timeout 300 mpirun -n "$NP" -x LD_PRELOAD="$ENOSPC" -x MAF_FAULT_ENOSPC_AFTER=$after \
    "$MAF" train -q -c "$CFG" --set train.eval_every=25 --set train.max_steps=$T \
    --set output.dir="$W/d" --resume >"$W/d.txt" 2>&1; rc=$?
  if [ $rc -eq 0 ]; then
    echo "disk full after $after bytes: the run needed fewer bytes (exit 0)"
  else
    [ $rc -eq 1 ] || { cat "$W/d.txt"; fail "disk full after $after bytes: exit $rc, expected 1"; }
    grep -qi "segmentation\|signal " "$W/d.txt" && { cat "$W/d.txt"; fail "a crash"; }
    victim=$(grep -m1 -o "cannot write '$W/d/[a-z]*.h5' .*No space left on device" "$W/d.txt" |
      sed "s|cannot write '$W/d/\([a-z]*.h5\)'.*|\1|")
    [ -n "$victim" ] || { cat "$W/d.txt"; fail "disk full after $after bytes: no clear message"; }
    ls "$W/d"/*.tmp >/dev/null 2>&1 && fail "a temporary was left behind"
    for f in "$W/d"/*.h5; do "$MAF" info "$f" >/dev/null 2>&1 || fail "$f does not load"; done
    full=$((full + 1))
    echo "disk full after $after bytes: exit 1 writing $victim (latest.h5 at step $(get step "$W/d/latest.h5")), every file loads"
  fi
  mpi --set train.max_steps=$T --set output.dir="$W/d" --resume >"$W/d.txt" 2>&1 ||
    { cat "$W/d.txt"; fail "continuing after disk full at $after bytes"; }
  same_state "$W/dref/latest.h5" "$W/d/latest.h5"
done
echo "disk full: $full of $DISKFULLS points hit a write (the rest needed fewer bytes); every one a clear error, no temporary left, every file loadable, and every run continued to a state bitwise identical to one that never met a full disk"
echo "fault campaign passed (seed $SEED)"
