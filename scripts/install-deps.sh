#!/usr/bin/env bash
# install-deps.sh - install what maf needs to build and test, from Debian 12's archive.
# Installs only the packages that are missing, so a second run does nothing; runs
# `apt-get update` first when something must be installed. Needs root (or sudo).
set -euo pipefail

packages=(
  gcc make cmake pkg-config          # toolchain
  libopenblas-dev                    # GEMMs (cblas)
  libopenmpi-dev openmpi-bin         # data-parallel training
  libhdf5-openmpi-dev hdf5-tools     # data, checkpoints and logs (parallel HDF5)
  libinih-dev                        # INI configs
  libcmocka-dev                      # unit tests
  python3-numpy python3-h5py         # the NumPy test fixtures and the Python model reader (tests)
  slurm-wlm munge                    # the job-script tests run a real one-node Slurm cluster
  clang-14 libclang-rt-14-dev        # fuzz test: clang's libFuzzer and ASan/UBSan runtimes
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
