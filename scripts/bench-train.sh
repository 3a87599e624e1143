#!/usr/bin/env bash
# bench-train.sh - trainer throughput in one run, alternating the measurements so that machine
# noise hits them alike; best of REPS for each:
#   1. `maf bench` of the same shapes (the library's step loop alone),
#   2. `maf train` on 1 rank, B per rank,
#   3. `maf train` on 2 ranks, B per rank (weak scaling: global batch 2B),
#   4. two independent 1-rank trainers at once (what the hardware gives without communication).
# Prints samples/s and the ratios: trainer / bench, and weak scaling = sps(2) / (2 sps(1)).
#   usage: scripts/bench-train.sh [BUILD_DIR] [REPS] [D] [HIDDEN] [LAYERS] [B] [STEPS]
# Defaults: MINIBOONE-like D=43, 5 blocks, 2 x 100 hidden, B=100 per rank, one OpenBLAS thread.
set -euo pipefail
BUILD=${1:-build} REPS=${2:-3} D=${3:-43} H=${4:-100} L=${5:-2} B=${6:-100} STEPS=${7:-3000}
MAF=$BUILD/maf
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
W=$(mktemp -d /tmp/maf-bench-XXXXXX)
trap 'rm -rf "$W"' EXIT
cat >"$W/b.ini" <<INI
[data]
path = builtin:gauss$D
builtin_rows = 20000
[model]
blocks = 5
hidden = $H
layers = $L
[train]
batch_size = $B
lr = 1e-4
max_steps = $STEPS
eval_every = $((STEPS / 10))
patience = 1000
[output]
dir = $W/out
INI
# best samples/s over the evaluation windows of a log
sps() { "$MAF" info "$1" | awk '$1 ~ /^[0-9]+$/ && NF == 9 { if ($7 > m) m = $7 } END { print m + 0 }'; }
comm() { "$MAF" info "$1" | awk '$1 ~ /^[0-9]+$/ && NF == 9 { s = $8 } END { print s + 0 }'; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b ? a : b) }'; }
bench=0 one=0 two=0 indep=0 comm2=0
bench_case=(--case custom --dim "$D" --blocks 5 --hidden "$H" --layers "$L" --batch "$B")
echo "config: D=$D, 5 blocks, ${L}x$H hidden, batch norm, B=$B per rank, $STEPS steps; OpenBLAS $("$MAF" bench --list >/dev/null; echo threads=1)"
for rep in $(seq "$REPS"); do
  b=$("$MAF" bench "${bench_case[@]}" --seconds 4 | awk '$1 == "custom" { print $6 }')
  mpirun -n 1 "$MAF" train -q -c "$W/b.ini" --set output.dir="$W/o1" --overwrite >/dev/null
  s1=$(sps "$W/o1/log.h5")
  mpirun -n 2 "$MAF" train -q -c "$W/b.ini" --set output.dir="$W/o2" --overwrite --set train.batch_size=$((2 * B)) >/dev/null
  s2=$(sps "$W/o2/log.h5"); c2=$(comm "$W/o2/log.h5")
  "$MAF" train -q -c "$W/b.ini" --set output.dir="$W/i1" --overwrite >/dev/null &
  p=$!
  "$MAF" train -q -c "$W/b.ini" --set output.dir="$W/i2" --overwrite >/dev/null
  wait $p
  si=$(awk -v a="$(sps "$W/i1/log.h5")" -v b="$(sps "$W/i2/log.h5")" 'BEGIN { print a + b }')
  printf "round %d: bench %8.0f  train 1 rank %8.0f  2 ranks %8.0f (mpi %4.1f%%)  2 independent %8.0f samples/s\n" \
    "$rep" "$b" "$s1" "$s2" "$c2" "$si"
  bench=$(best "$bench" "$b"); one=$(best "$one" "$s1"); indep=$(best "$indep" "$si")
  if awk -v a="$s2" -v b="$two" 'BEGIN { exit !(a > b) }'; then two=$s2; comm2=$c2; fi
done
awk -v b="$bench" -v o="$one" -v t="$two" -v i="$indep" -v c="$comm2" 'BEGIN {
  printf "best: bench %.0f, train 1 rank %.0f, 2 ranks %.0f (mpi %.1f%%), 2 independent %.0f samples/s\n", b, o, t, c, i
  printf "trainer / bench (1 rank):          %.3f\n", o / b
  printf "weak scaling sps(2) / (2 sps(1)):  %.3f\n", t / (2 * o)
  printf "independent pair / (2 sps(1)):     %.3f\n", i / (2 * o)
}'
