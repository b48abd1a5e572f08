#!/usr/bin/env bash
# Install what bptt needs to build and test, if it is missing (Debian packages).
# --mpi: also Open MPI, the optional extra for data-parallel training (docs/mpi.md).
set -euo pipefail
need=()
command -v cc >/dev/null || need+=(build-essential)
command -v cmake >/dev/null || need+=(cmake)
command -v pkg-config >/dev/null || need+=(pkg-config)
pkg-config --exists openblas 2>/dev/null || need+=(libopenblas-dev)
pkg-config --exists yaml-0.1 2>/dev/null || need+=(libyaml-dev)
pkg-config --exists criterion 2>/dev/null || need+=(libcriterion-dev)
if [ "${1:-}" = "--mpi" ]; then
  command -v mpirun >/dev/null || need+=(openmpi-bin)
  pkg-config --exists ompi-c 2>/dev/null || need+=(libopenmpi-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${need[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
