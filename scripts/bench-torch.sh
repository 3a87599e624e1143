#!/usr/bin/env bash
# bench-torch.sh - maf vs. the independent PyTorch MAF (../shared/reference/torch_maf.py) on the
# same shapes, in one run, one thread each, float32, alternating so that machine noise hits both
# alike. Needs Debian's python3-torch. Prints samples/s of both and the ratio.
#   usage: scripts/bench-torch.sh [BUILD_DIR] [TORCH_MAF_PY] [BATCHNORM 0|1]
set -euo pipefail
BUILD=${1:-build}
REF=${2:-$(dirname "$0")/../../shared/reference/torch_maf.py}
BN=${3:-0}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
[ -f "$REF" ] || { echo "no $REF" >&2; exit 1; }
bnflag=$([ "$BN" = 1 ] && echo "" || echo "--no-batch-norm")
printf "%-16s %12s %12s %8s   (batch norm %s, OpenBLAS kernel: %s)\n" case maf torch ratio "$BN" \
  "$("$BUILD/maf" bench --case custom --batch 10 --seconds 0.2 --dim 2 --blocks 1 --hidden 4 | sed -n 's/.*kernel \([A-Za-z0-9]*\).*/\1/p')"
while read -r name D H B; do
  m=0 t=0
  for rep in 1 2; do
    mm=$("$BUILD/maf" bench --case "$name" $bnflag --seconds 3 | awk -v n="$name" '$1 == n { print $6 }')
    tt=$(/usr/bin/python3 "$REF" --dim "$D" --mades 5 --hidden "$H" --nhidden 2 --batch "$B" \
      --steps $((200000 / H / (B / 100) / (D > 40 ? 2 : 1))) --threads 1 --act relu --batchnorm "$BN" \
      --dtype float32 2>/dev/null | sed -n 's/^samples_per_sec=//p')
    m=$(awk -v a="$m" -v b="$mm" 'BEGIN { print (b > a ? b : a) }')
    t=$(awk -v a="$t" -v b="$tt" 'BEGIN { print (b > a ? b : a) }')
  done
  awk -v n="$name" -v m="$m" -v t="$t" 'BEGIN { printf "%-16s %12.0f %12.0f %7.2fx\n", n, m, t, m / t }'
done <<'CASES'
power-b100 6 100 100
power-b512 6 100 512
miniboone-b100 43 100 100
miniboone-b512 43 100 512
bsds300-b100 63 512 100
CASES
