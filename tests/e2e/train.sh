#!/usr/bin/env bash
# train.sh - end-to-end tests of `maf train` under mpirun with real ranks and real HDF5 files.
#   train.sh CASE NP MAF MKDATA CONFIG_DIR [ENOSPC_SHIM]
# Each case prints what it checks and exits non-zero on the first failure.
set -uo pipefail
CASE=$1 NP=$2 MAF=$3 MKDATA=$4 CFG=$5/tiny.ini ENOSPC=${6:-}
W=$(mktemp -d /tmp/maf-e2e-XXXXXX)
trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_mpi_yield_when_idle=1 OPENBLAS_NUM_THREADS=1

fail() { echo "FAIL [$CASE np=$NP]: $*"; exit 1; }
ok() { echo "ok   [$CASE np=$NP]: $*"; }
# run NP [env...] -- args: mpirun maf train -q ..., output in $W/out.txt, status in $RC
run() {
  local np=$1; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=(-x "$1"); shift; done
  shift
  timeout 120 mpirun -n "$np" "${envs[@]}" "$MAF" train -q -c "$CFG" "$@" >"$W/out.txt" 2>&1
  RC=$?
  [ $RC -eq 124 ] && { cat "$W/out.txt"; fail "timed out: a rank hangs"; }
}
get() { "$MAF" info --get "$1" "$2"; }
# bitwise comparison of the resumable state of two checkpoints
same_state() {
  for g in /model /adam /best; do
    h5diff -r "$1" "$2" $g $g >"$W/diff.txt" 2>&1 || { head -20 "$W/diff.txt"; fail "$g differs between $1 and $2"; }
  done
  [ "$(get step "$1")" = "$(get step "$2")" ] || fail "step differs"
}
expect_error() { # expect_error WHAT PATTERN: the last run failed, naming PATTERN
  [ $RC -ne 0 ] || { cat "$W/out.txt"; fail "$1: exit status 0, expected an error"; }
  grep -q -- "$2" "$W/out.txt" || { cat "$W/out.txt"; fail "$1: the message does not name '$2'"; }
  ok "$1 -> exit $RC: $(grep -m1 -- "$2" "$W/out.txt" | cut -c1-150)"
}

case $CASE in
resume_bitwise)
  run "$NP" -- --set output.dir="$W/a"; [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "uninterrupted run"; }
  run "$NP" MAF_TEST_STOP_AT_STEP=137 -- --set output.dir="$W/b"
  [ $RC -eq 75 ] || { cat "$W/out.txt"; fail "stop request: exit $RC, expected 75"; }
  [ "$(get step "$W/b/latest.h5")" = 137 ] || fail "stopped checkpoint is not at step 137"
  ok "stop requested on rank $((NP - 1)) at step 137: all ranks stopped, exit 75"
  run "$NP" -- --set output.dir="$W/b" --resume; [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume"; }
  same_state "$W/a/latest.h5" "$W/b/latest.h5"
  ok "stopped + resumed run is bitwise identical to the uninterrupted one (model, adam, best)"
  /usr/bin/python3 "$(dirname "$CFG")/check_run.py" same-log "$W/a" "$W/b" || fail "the logs differ"
  ;;
signal)
  # a real SIGTERM to one rank in the middle of a long run
  timeout 120 mpirun -n "$NP" "$MAF" train -q -c "$CFG" --set output.dir="$W/s" \
    --set train.max_steps=10000000 >"$W/out.txt" 2>&1 &
  launcher=$!
  for _ in $(seq 100); do
    [ -f "$W/s/latest.h5" ] && break; sleep 0.1
  done
  sleep 1
  # a rank process (its command line starts with the maf binary, unlike mpirun's and timeout's)
  victim=$(pgrep -f "^$MAF train -q -c $CFG --set output.dir=$W/s" | tail -1)
  [ -n "$victim" ] || fail "no rank process found"
  kill -TERM "$victim"
  wait $launcher; RC=$?
  [ $RC -eq 75 ] || { cat "$W/out.txt"; fail "SIGTERM to pid $victim: exit $RC, expected 75"; }
  s=$(get step "$W/s/latest.h5")
  ok "SIGTERM to one rank (pid $victim): every rank stopped at step $s, exit 75"
  total=$((s + 120))
  run "$NP" -- --set output.dir="$W/s" --set train.max_steps=$total --resume
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume after the signal"; }
  run "$NP" -- --set output.dir="$W/u" --set train.max_steps=$total
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "uninterrupted run of $total steps"; }
  same_state "$W/u/latest.h5" "$W/s/latest.h5"
  ok "resumed after the signal, bitwise identical to an uninterrupted run of $total steps"
  ;;
rerank)
  run "$NP" MAF_TEST_STOP_AT_STEP=100 -- --set output.dir="$W/r"; [ $RC -eq 75 ] || fail "stop"
  run $((NP + 1)) -- --set output.dir="$W/r" --resume
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume on $((NP + 1)) ranks"; }
  grep -q "re-sharded" "$W/out.txt" || fail "no note that the data was re-sharded"
  [ "$(get step "$W/r/latest.h5")" = 300 ] && [ "$(get finished "$W/r/latest.h5")" = 1 ] || fail "not finished"
  ok "stopped on $NP ranks, resumed on $((NP + 1)): completed (documented as not bitwise)"
  ;;
ckpt_kill)
  # killed halfway through writing best.h5, then latest.h5: the file being written keeps its old
  # complete contents, the other files are untouched or complete, and the run resumes
  run "$NP" -- --set output.dir="$W/k" --set train.max_steps=100; [ $RC -eq 0 ] || fail "first run"
  for victim in best.h5 latest.h5; do
    before_best=$(md5sum <"$W/k/best.h5"); before_latest=$(md5sum <"$W/k/latest.h5")
    step_before=$(get step "$W/k/latest.h5")
    run "$NP" MAF_FAULT_KILL_IN_CHECKPOINT=$victim -- --set output.dir="$W/k" \
      --set train.max_steps=$((step_before + 100)) --resume
    [ $RC -ne 0 ] || { cat "$W/out.txt"; fail "the process was not killed writing $victim"; }
    grep -q "killed while writing $W/k/$victim" "$W/out.txt" || { cat "$W/out.txt"; fail "not killed in $victim"; }
    if [ $victim = best.h5 ]; then
      [ "$(md5sum <"$W/k/best.h5")" = "$before_best" ] || fail "best.h5 changed by the killed write"
      [ "$(md5sum <"$W/k/latest.h5")" = "$before_latest" ] || fail "latest.h5 changed (it is written after best.h5)"
    else
      [ "$(md5sum <"$W/k/latest.h5")" = "$before_latest" ] || fail "latest.h5 changed by the killed write"
    fi
    for f in best.h5 latest.h5; do
      "$MAF" info "$W/k/$f" >/dev/null 2>&1 || fail "$f is not loadable after the kill"
    done
    [ "$(get step "$W/k/latest.h5")" = "$step_before" ] || fail "latest.h5 is not at step $step_before"
    ok "killed in the middle of writing $victim: it is unchanged, every file loads, latest.h5 at step $step_before"
    run "$NP" -- --set output.dir="$W/k" --set train.max_steps=$((step_before + 100)) --resume
    [ $RC -eq 0 ] && [ "$(get step "$W/k/latest.h5")" = $((step_before + 100)) ] || { cat "$W/out.txt"; fail "resume after the kill"; }
    ok "and the run resumes from it to step $((step_before + 100))"
  done
  ;;
bad_inputs)
  "$MKDATA" "$W/nan.h5" --dim 4 --rows 2000 --nan-row 1234 || fail mkdata
  run "$NP" -- --set output.dir="$W/o1" --set data.path="$W/nan.h5"
  expect_error "NaN row" "nan.h5:/train: row 1234"
  for split in val test; do
    "$MKDATA" "$W/nan_$split.h5" --dim 4 --rows 2000 --nan-row 17 --nan-split $split --nan-col 3 || fail mkdata
    run "$NP" -- --set output.dir="$W/o1$split" --set data.path="$W/nan_$split.h5"
    expect_error "NaN in the last column of the $split split" "nan_$split.h5:/$split: row 17 (0-based) column 3"
  done
  "$MKDATA" "$W/g4.h5" --dim 4 --rows 2000 || fail mkdata
  run "$NP" -- --set output.dir="$W/o2" --set data.path="$W/g4.h5" --set data.test=nosuch
  expect_error "missing dataset" "no dataset 'nosuch'"
  "$MKDATA" "$W/g4.h5" --dim 4 --rows 2000 --no-test || fail mkdata
  run "$NP" -- --set output.dir="$W/o2" --set data.path="$W/g4.h5"
  expect_error "file without a test split" "no dataset 'test'"
  "$MKDATA" "$W/g4.h5" --dim 4 --rows 2000 && "$MKDATA" "$W/g5.h5" --dim 5 --rows 2000 || fail mkdata
  run "$NP" -- --set output.dir="$W/o3" --set data.path="$W/g4.h5" --set train.max_steps=60
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "training on g4.h5"; }
  before=$(md5sum "$W/o3"/*.h5)
  run "$NP" -- --set output.dir="$W/o3" --set data.path="$W/g5.h5" --resume
  expect_error "wrong dimension against the checkpoint" "trained on 4 columns, the data has 5"
  [ "$(md5sum "$W/o3"/*.h5)" = "$before" ] || fail "a failed resume changed the files"
  best_before=$(md5sum <"$W/o3/best.h5")
  truncate -s $(($(stat -c %s "$W/o3/latest.h5") / 2)) "$W/o3/latest.h5"
  run "$NP" -- --set output.dir="$W/o3" --set data.path="$W/g4.h5" --resume
  expect_error "truncated checkpoint" "latest.h5"
  [ "$(md5sum <"$W/o3/best.h5")" = "$best_before" ] || fail "best.h5 changed"
  "$MKDATA" "$W/const.h5" --dim 4 --rows 2000 --constant-col 3 || fail mkdata
  run "$NP" -- --set output.dir="$W/o8" --set data.path="$W/const.h5"
  expect_error "constant column" "const.h5:/train: column 3 is constant"
  run "$NP" -- --set output.dir="$W/o4" --set model.hiden=3
  expect_error "unknown config key" "model.hiden=3: unknown key; keys of \[model\]"
  [ $RC -eq 2 ] || fail "config errors exit 2"
  printf '[model]\nblocks = 2\nactivation = sigmoid\n' >"$W/bad.ini"
  timeout 60 mpirun -n "$NP" "$MAF" train -q -c "$W/bad.ini" >"$W/out.txt" 2>&1; RC=$?
  expect_error "bad value with file and line" "bad.ini:3: \[model\] activation = sigmoid: expected one of relu, tanh"
  run "$NP" -- --set output.dir="$W/o5" --set train.lr=-1
  expect_error "out-of-range value" "lr"
  [ -e "$W/o4" ] || [ -e "$W/o5" ] && fail "a rejected config created output" || true
  # messages that say what is wrong, and nothing else
  /usr/bin/python3 -c "
import h5py, numpy as np
with h5py.File('$W/empty.h5', 'w') as f:
    f['train'] = np.zeros((0, 4)); f['val'] = np.ones((3, 4)); f['test'] = np.ones((3, 4))
" || fail "writing empty.h5"
  run "$NP" -- --set output.dir="$W/o9" --set data.path="$W/empty.h5"
  expect_error "a 0-row training split" "empty.h5: dataset 'train' has 0 rows"
  run "$NP" -- --set output.dir="$W/o9" --set data.path="$W"
  expect_error "a folder as the data path" "cannot open data file '$W': it is a folder, not a file"
  [ "$(wc -l <"$W/out.txt")" -le 12 ] || { cat "$W/out.txt"; fail "more than our message is printed"; }
  run "$NP" -- --set output.dir="$W/g4.h5/sub"
  expect_error "an output folder under a file" "cannot create the folder: Not a directory"
  long="$W"; while [ ${#long} -lt 3900 ]; do long="$long/$(printf 'd%.0s' $(seq 200))"; done
  run "$NP" -- --set output.dir="$long/$(printf 'e%.0s' $(seq $((4090 - ${#long} - 1))))"
  expect_error "a 4090-character output path" "File name too long"
  run "$NP" -- --set output.dir="$W/o10" --set train.batch_size=4001
  expect_error "a batch larger than the training set" "batch_size = 4001 is larger than the 4000 training rows"
  run "$NP" -- --set output.dir="$W/o11" --set train.max_steps=20
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "training for the architecture check"; }
  run "$NP" -- --set output.dir="$W/o11" --set model.activation=tanh --resume
  expect_error "another activation on resume, by name" "checkpoint has \[model\] activation = relu, the configuration tanh"
  if [ "$NP" -ge 2 ]; then
    "$MKDATA" "$W/tiny.h5" --dim 4 --rows $((NP - 1)) || fail mkdata
    run "$NP" -- --set output.dir="$W/o6" --set data.path="$W/tiny.h5"
    expect_error "more ranks than rows" "has $((NP - 1)) rows but $NP ranks"
    run "$NP" -- --set output.dir="$W/o7" --set train.batch_size=$((NP - 1))
    expect_error "global batch smaller than the rank count" "batch_size = $((NP - 1)) is smaller than the $NP ranks"
  fi
  ;;
known_density)
  # columns scaled by 10..1000, so the standardisation's log-Jacobian is about -16 nats: the gap to
  # the truth must be small and not negative beyond noise (a model cannot beat the true density)
  gap_ok() { awk -v a="$1" -v b="$2" 'BEGIN { d = b - a; exit !(d < 0.05 && d > -0.02) }'; }
  truth=$("$MKDATA" "$W/g4.h5" --dim 4 --rows 20000 --scale --truth) || fail mkdata
  run "$NP" -- --set output.dir="$W/f" --set data.path="$W/g4.h5" --set train.max_steps=0 \
    --set train.max_epochs=15 --set train.eval_every=0 --set train.batch_size=100 --set model.hidden=32
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "training on the file"; }
  ll=$(get test_loglik "$W/f/log.h5")
  gap_ok "$ll" "$truth" || fail "file: test log-likelihood $ll vs true $truth: gap outside [-0.02, 0.05)"
  ok "file with a known density, columns scaled by 10..1000: test log-likelihood $ll, true $truth"
  run "$NP" -- --set output.dir="$W/b" --set data.builtin_rows=20000 --set train.max_steps=0 \
    --set train.max_epochs=15 --set train.eval_every=0 --set train.batch_size=100 --set model.hidden=32
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "training on builtin:gauss4"; }
  ll=$(get test_loglik "$W/b/log.h5"); truth=$(get true_test_loglik "$W/b/log.h5")
  gap_ok "$ll" "$truth" || fail "builtin: test log-likelihood $ll vs true $truth: gap outside [-0.02, 0.05)"
  ok "builtin:gauss4: test log-likelihood $ll, true $truth"
  ;;
far_rows)
  # finite values far out: a float64 value beyond float32 is named as such; a float32 row near
  # the float range is evaluated (in double) to a finite log-likelihood, not -inf
  "$MKDATA" "$W/g4.h5" --dim 4 --rows 2000 || fail mkdata
  edit() { # edit FILE SPLIT ROW COL VALUE: a copy of g4.h5 with one value changed
    cp "$W/g4.h5" "$1"
    /usr/bin/python3 -c "
import h5py
with h5py.File('$1', 'r+') as f: f['$2'][$3, $4] = $5
" || fail "editing $1"
  }
  edit "$W/big64.h5" train 7 1 -1.2e300
  run "$NP" -- --set output.dir="$W/o1" --set data.path="$W/big64.h5"
  expect_error "a float64 value beyond float32" "big64.h5:/train: row 7 (0-based) column 1 is -1.2e+300: finite, but beyond the range of float32"
  edit "$W/bigz.h5" val 5 0 3.3e38
  run "$NP" -- --set output.dir="$W/o2" --set data.path="$W/bigz.h5"
  expect_error "a value that overflows once standardised" "bigz.h5:/val: row 5 (0-based) column 0 is 3.3e+38: standardised by the training std"
  edit "$W/far.h5" val 5 2 3.3e38
  run "$NP" -- --set output.dir="$W/o3" --set data.path="$W/far.h5" --set train.max_steps=100
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "training with a far validation row"; }
  grep -qi "non-finite\|nan\|inf" "$W/out.txt" && { cat "$W/out.txt"; fail "a non-finite figure"; }
  /usr/bin/python3 -c "
import h5py, numpy as np, sys
v = h5py.File('$W/o3/log.h5')['log']['val_loglik']
sys.exit(0 if np.all(np.isfinite(v)) and np.all(v < -1e30) else 1)
" || fail "validation scores not finite (or not dominated by the far row)"
  ok "a validation row at 3.3e38: every validation score finite ($(get best_val "$W/o3/latest.h5"))"
  ;;
crafted)
  # a damaged or crafted latest.h5 is named, never trusted; other data is refused on resume
  "$MKDATA" "$W/g4.h5" --dim 4 --rows 2000 || fail mkdata
  run "$NP" -- --set output.dir="$W/c" --set data.path="$W/g4.h5" --set train.max_steps=60
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "first run"; }
  cp "$W/c/latest.h5" "$W/good.h5"
  # craft KIND VALUE: one change to a copy of the good checkpoint, in place as latest.h5
  craft() {
    cp "$W/good.h5" "$W/c/latest.h5"
    /usr/bin/python3 - "$W/c/latest.h5" "$1" <<'PY' || fail "crafting $1"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
k = sys.argv[2]
if k == "step": f.attrs.modify("step", np.int64(-7))
elif k == "bad_evals": f.attrs.modify("bad_evals", np.int64(f.attrs["evals"] + 1))
elif k == "activation": f.attrs.modify("activation", "sigmoid")
elif k == "adam_v": f["adam/v/made0.b0"][0, 0] = -1.0
elif k == "param_nan": f["model/made1.w_out"][0, 0] = np.nan
elif k == "bn_var": f["model/bn0.var"][0, 1] = -0.5
elif k == "std": f["data/std"][0, 2] = 0.0
elif k == "log_jacobian": f.attrs.modify("log_jacobian", f.attrs["log_jacobian"] + 1.0)
elif k == "rng": f["ranks/rng"][0, :] = 0
elif k == "cursor": f["ranks/cursor"][0, 0] = 10**9
elif k == "adam_steps": f.attrs.modify("adam_steps", np.int64(f.attrs["step"] + 5))
elif k == "best_val": f.attrs.modify("best_val", np.nan)
elif k == "finished": f.attrs.modify("finished", np.int64(2))
elif k == "blocks": f.attrs.modify("blocks", np.int64(0))
elif k == "bound": f.attrs.modify("log_scale_bound", -1.0)
elif k == "bound_eps": f.attrs.modify("log_scale_bound", f.attrs["log_scale_bound"] * (1 + 1e-12))
f.close()
PY
    run "$NP" -- --set output.dir="$W/c" --set data.path="$W/g4.h5" --set train.max_steps=120 --resume
  }
  for k in "step:attribute step = -7 is out of range" "bad_evals:attribute bad_evals" \
    "activation:activation = 'sigmoid': expected relu or tanh" "adam_v:adam/v/made0.b0\[0\] = -1" \
    "param_nan:model/made1.w_out\[0\] = nan" "bn_var:model/bn0.var\[1\] = -0.5" \
    "std:data/std\[2\] = 0: expected a positive value" "log_jacobian:attribute log_jacobian" \
    "rng:ranks/rng row 0 is all zero" "cursor:ranks/cursor\[0\] = 1000000000 is beyond" \
    "adam_steps:attribute adam_steps" "best_val:best_val = nan" \
    "finished:attribute finished = 2 is out of range" "blocks:attribute blocks = 0 is out of range" \
    "bound:attribute log_scale_bound = -1: expected a finite value >= 0" \
    "bound_eps:checkpoint has \[model\] log_scale_bound = 2.0000000000020002, the configuration 2"; do
    craft "${k%%:*}"
    expect_error "crafted checkpoint (${k%%:*})" "${k#*:}"
    [ $RC -eq 1 ] || fail "exit $RC, expected 1"
  done
  cp "$W/good.h5" "$W/c/latest.h5"
  "$MKDATA" "$W/g4b.h5" --dim 4 --rows 3000 || fail mkdata
  run "$NP" -- --set output.dir="$W/c" --set data.path="$W/g4b.h5" --set train.max_steps=120 --resume
  expect_error "resume on data with other row counts" "with 2000/200/200 train/val/test rows; \[data\] path = $W/g4b.h5 has 3000/300/300: resuming on other data is refused"
  "$MKDATA" "$W/g4s.h5" --dim 4 --rows 2000 --scale || fail mkdata
  run "$NP" -- --set output.dir="$W/c" --set data.path="$W/g4s.h5" --set train.max_steps=120 --resume
  expect_error "resume on data with the same shape, other values" "the training split's column 0 has mean"
  cp "$W/g4.h5" "$W/moved.h5"
  run "$NP" -- --set output.dir="$W/c" --set data.path="$W/moved.h5" --set train.max_steps=120 \
    --set train.batch_size=32 --set train.seed=7 --resume
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume on the moved file with another batch size"; }
  for w in "now \[data\] path = $W/moved.h5 (same rows and statistics)" "batch_size was 64, now 32" "seed was 1, now 7"; do
    grep -q "$w" "$W/out.txt" || { cat "$W/out.txt"; fail "no note: $w"; }
  done
  ok "moved data file, other batch size and seed: resumed with a note for each"
  ;;
folder)
  # one folder, one run: a fresh run refuses another run's files; --overwrite replaces them only
  # once the new run is set up; a second run on a folder in use is refused naming the first
  run "$NP" -- --set output.dir="$W/r" --set train.max_steps=60; [ $RC -eq 0 ] || fail "first run"
  sums=$(cd "$W/r" && md5sum *.h5)
  run "$NP" -- --set output.dir="$W/r" --set train.max_steps=60
  expect_error "a fresh run into a folder with a previous run" "holds a previous run (latest.h5, best.h5, log.h5): continue it with --resume, replace it with --overwrite"
  [ $RC -eq 2 ] || fail "exit $RC, expected 2"
  run "$NP" -- --set output.dir="$W/r" --set data.path="$W/nosuch.h5" --overwrite
  expect_error "--overwrite with data that cannot be read" "nosuch.h5"
  [ "$(cd "$W/r" && md5sum *.h5)" = "$sums" ] || fail "a failed --overwrite run changed the previous run's files"
  ok "the failed --overwrite run left the previous run's files as they were"
  "$MKDATA" "$W/g5.h5" --dim 5 --rows 2000 || fail mkdata
  run "$NP" -- --set output.dir="$W/r" --set data.path="$W/g5.h5" --set train.max_steps=60 --overwrite
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "--overwrite run"; }
  [ "$(get dim "$W/r/best.h5")" = 5 ] && [ "$(get dim "$W/r/latest.h5")" = 5 ] || fail "files of two runs mixed"
  grep -q "removed the previous latest.h5, best.h5, log.h5" "$W/out.txt" || { cat "$W/out.txt"; fail "no note of the removal"; }
  ok "--overwrite replaced the previous run (dim 4) by the new one (dim 5)"
  run "$NP" -- --set output.dir="$W/r" --set data.path="$W/g5.h5" --set train.max_steps=60 --resume
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume of a finished run"; }
  grep -q "files: $W/r/log.h5\$" "$W/out.txt" || { cat "$W/out.txt"; fail "the summary lists files this run did not write"; }
  ok "a finished run resumed lists only the file it wrote: $(grep -o "files:.*" "$W/out.txt")"
  # a second run while the first holds the folder, then the lock is freed by a kill -9
  timeout 120 mpirun -n "$NP" "$MAF" train -q -c "$CFG" --set output.dir="$W/l" \
    --set train.max_steps=10000000 >"$W/first.txt" 2>&1 &
  launcher=$!
  for _ in $(seq 100); do [ -f "$W/l/latest.h5" ] && break; sleep 0.1; done
  run "$NP" -- --set output.dir="$W/l" --resume
  expect_error "a second run on a folder in use" "folder in use by another run (pid [0-9]* on host $(hostname)"
  # it stopped at the lock, before reading data or writing anything (a .tmp in the folder may be
  # the first run's checkpoint in progress, so that is not what is checked)
  grep -q "^data:" "$W/out.txt" && { cat "$W/out.txt"; fail "the refused run went past the lock"; }
  pkill -KILL -f "^$MAF train -q -c $CFG --set output.dir=$W/l " ; wait $launcher
  run "$NP" -- --set output.dir="$W/l" --set train.max_steps=100 --resume
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "resume after the first run was killed: the lock was not released"; }
  ok "after kill -9 of the first run the folder is free again: resumed and finished"
  # a 1-row test split: no standard error, never a printed or stored NaN
  "$MKDATA" "$W/one.h5" --dim 4 --rows 10 || fail mkdata
  run 1 -- --set output.dir="$W/one" --set data.path="$W/one.h5" --set train.batch_size=4 --set train.max_steps=20
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "1-row test split"; }
  grep -qi "nan" "$W/out.txt" && { cat "$W/out.txt"; fail "a NaN is printed"; }
  grep -q "(1 finite row(s): no standard error)" "$W/out.txt" || { cat "$W/out.txt"; fail "no note of the missing s.e."; }
  get test_loglik "$W/one/log.h5" >/dev/null || fail "test_loglik not stored"
  get test_loglik_2se "$W/one/log.h5" >/dev/null 2>&1 && fail "test_loglik_2se stored for 1 row: $(get test_loglik_2se "$W/one/log.h5")"
  ok "1-row test split: $(grep -o "test log-likelihood.*" "$W/out.txt"); no s.e. stored"
  ;;
disk_full)
  # the disk fills up at several points of a checkpoint write (LD_PRELOAD shim): one clear line,
  # exit 1 on every rank (no crash in HDF5's clean-up), the previous files intact, no temporary
  run "$NP" -- --set output.dir="$W/d" --set train.max_steps=100; [ $RC -eq 0 ] || fail "first run"
  for after in 0 1000 20000 60000; do
    cp -p "$W/d"/*.h5 "$W/"
    run "$NP" LD_PRELOAD="$ENOSPC" MAF_FAULT_ENOSPC_AFTER=$after -- --set output.dir="$W/d" \
      --set train.max_steps=200 --resume
    [ $RC -eq 1 ] || { cat "$W/out.txt"; fail "disk full after $after bytes: exit $RC, expected 1"; }
    grep -qi "segmentation\|signal" "$W/out.txt" && { cat "$W/out.txt"; fail "a crash after the error"; }
    victim=$(grep -m1 -o "cannot write '$W/d/[a-z]*.h5' .*No space left on device" "$W/out.txt" |
      sed "s|cannot write '$W/d/\([a-z]*.h5\)'.*|\1|")
    [ -n "$victim" ] || { cat "$W/out.txt"; fail "disk full after $after bytes: no clear message"; }
    cmp -s "$W/$victim" "$W/d/$victim" || fail "disk full after $after bytes: $victim changed"
    for f in "$W/d"/*.h5; do "$MAF" info "$f" >/dev/null 2>&1 || fail "$f does not load"; done
    ls "$W/d"/*.tmp >/dev/null 2>&1 && fail "a temporary was left behind"
    ok "disk full after $after bytes: exit 1 on every rank, $victim unchanged, every file loads: $(grep -m1 -o "cannot write.*device" "$W/out.txt" | sed "s|$W/d/||g")"
  done
  run "$NP" -- --set output.dir="$W/d" --set train.max_steps=200 --resume
  [ $RC -eq 0 ] && [ "$(get step "$W/d/latest.h5")" = 200 ] || { cat "$W/out.txt"; fail "resume once there is space"; }
  ok "with space again the run resumes and finishes"
  ;;
invariants)
  # the trainer's figures against an independent NumPy evaluation of its own files
  CHECK="$(dirname "$CFG")/check_run.py"
  # 1. one full-batch step (130 rows: not a multiple of 2, 3 or 4): the applied gradient is the
  #    gradient of the documented loss over every training row, whatever the rank count; the
  #    only evaluation is at the step limit, off the eval_every grid (its row logs that step's
  #    gradient norm, not 0 or a stale one)
  "$MKDATA" "$W/fb.h5" --dim 4 --rows 130 --scale || fail mkdata
  run "$NP" -- --set output.dir="$W/fb" --set data.path="$W/fb.h5" --set train.batch_size=130 \
    --set train.max_steps=1 --set train.eval_every=1000 --set model.blocks=2 \
    --set model.activation=tanh --set train.weight_decay=0.1 --set train.clip_norm=0
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "one full-batch step"; }
  /usr/bin/python3 "$CHECK" first-step "$W/fb" "$W/fb.h5" || fail "first-step check"
  # 2. a run that ends by early stopping (so the last and the best models differ): every figure
  #    it reports equals best.h5 evaluated in NumPy
  "$MKDATA" "$W/es.h5" --dim 4 --rows 4000 --scale || fail mkdata
  run "$NP" -- --set output.dir="$W/es" --set data.path="$W/es.h5" --set train.patience=1 \
    --set train.eval_every=25 --set train.max_steps=5000 --set train.lr=3e-3
  [ $RC -eq 0 ] || { cat "$W/out.txt"; fail "early-stopping run"; }
  grep -q "early stopping" "$W/out.txt" || { cat "$W/out.txt"; fail "the run did not stop early"; }
  /usr/bin/python3 "$CHECK" report "$W/es" "$W/es.h5" || fail "report check"
  ;;
*) fail "unknown case" ;;
esac
echo "1 passed, 0 failed"
