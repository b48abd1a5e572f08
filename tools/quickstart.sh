#!/usr/bin/env bash
# The main job: install what is missing, build, and train the default model (an
# IRNN on the adding problem, T = 100) with live progress; its checkpoint goes to
# build/irnn_adding.safetensors. Extra arguments go to `bptt train` (e.g. --steps 2000,
# --out irnn.safetensors, which wins).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
exec ./build/bptt train models/irnn_adding.yaml --out build/irnn_adding.safetensors "$@"
