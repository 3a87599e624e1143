#!/usr/bin/env bash
# make_seeds.sh - regenerate the seed corpora of the fuzz harnesses in tests/fuzz/corpus/ from
# the built tools (maf, tests/mkdata) and the committed configs.
#
#   bash tests/fuzz/make_seeds.sh [BUILD_DIR]        (default BUILD_DIR: build)
#
# fuzz_config:     the committed INI files, some with a --set override as their last line
# fuzz_checkpoint: best.h5 / latest.h5 of tiny training runs (1-2 blocks of 4 hidden units;
#                  variants without batch norm, with 2 layers and tanh, with random orders and
#                  degrees), plus truncated copies
# fuzz_data:       mkdata files of 3 columns x 40 rows, with a NaN, a constant column, no test
#                  split, and a truncated copy
# Checkpoints store the run's time and configuration, so regenerated seeds differ in bytes from
# the committed ones; that is fine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
maf=$build/maf
mkdata=$build/tests/mkdata
for t in "$maf" "$mkdata"; do
  [ -x "$t" ] || { echo "make_seeds: $t not built (cmake --build $build)" >&2; exit 1; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
corpus=$here/corpus

# ---- fuzz_config
out=$corpus/fuzz_config
rm -rf "$out" && mkdir -p "$out"
cp "$root/configs/quickstart.ini" "$out/quickstart.ini"
cp "$root/configs/reference.ini" "$out/reference.ini"
cp "$root/tests/e2e/tiny.ini" "$out/tiny.ini"
{ cat "$root/configs/stars.ini"; printf 'model.activation = tanh'; } >"$out/stars-set.ini"
{ cat "$root/configs/paper-maf5.ini"; printf 'train.lr=1e-3'; } >"$out/paper-set.ini"
printf '[data]\npath = builtin:gauss4\n[model]\nblocks = 2\n  hidden = 3\n' >"$out/indented.ini"
printf '[train]\nseed = 18446744073709551615\nlr: 0.5 ; comment\n# c\n\ndata.path=x.h5' \
  >"$out/seed-max.ini"

# ---- fuzz_checkpoint
out=$corpus/fuzz_checkpoint
rm -rf "$out" && mkdir -p "$out"
train() { # NAME SETTINGS...
  local name=$1
  shift
  local args=(-c "$root/tests/e2e/tiny.ini" --set "output.dir=$tmp/$name" --set train.max_steps=20
    --set train.eval_every=10 --set data.builtin_rows=200 --set model.hidden=4)
  for s in "$@"; do args+=(--set "$s"); done
  "$maf" train -q "${args[@]}" >/dev/null
  cp "$tmp/$name/best.h5" "$out/$name-best.h5"
  cp "$tmp/$name/latest.h5" "$out/$name-latest.h5"
}
train base model.blocks=1
train nobn model.blocks=2 model.batch_norm=false
train tanh model.blocks=1 model.layers=2 model.activation=tanh
train random model.blocks=2 model.order=random model.degrees=random data.path=builtin:gauss3
head -c 2048 "$out/base-best.h5" >"$out/base-best-trunc2k.h5"
head -c $(($(stat -c %s "$out/nobn-latest.h5") / 2)) "$out/nobn-latest.h5" >"$out/nobn-latest-half.h5"

# ---- fuzz_data
out=$corpus/fuzz_data
rm -rf "$out" && mkdir -p "$out"
"$mkdata" "$out/d3.h5" --dim 3 --rows 40 >/dev/null
"$mkdata" "$out/d3-nan.h5" --dim 3 --rows 40 --nan-row 7 >/dev/null
"$mkdata" "$out/d3-const.h5" --dim 3 --rows 40 --constant-col 1 >/dev/null
"$mkdata" "$out/d3-notest.h5" --dim 3 --rows 40 --no-test >/dev/null
"$mkdata" "$out/d2-small.h5" --dim 2 --rows 10 >/dev/null
head -c 4096 "$out/d3.h5" >"$out/d3-trunc4k.h5"

du -sh "$corpus"/*
