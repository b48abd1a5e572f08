#!/usr/bin/env bash
# Seed corpora for the fuzzers, written at build time (nothing binary is committed):
#   OUT/model/        the shipped models/*.yaml and tests/fuzz/seeds/*.yaml
#   OUT/safetensors/  weights, checkpoints, batches and gradients written by bptt itself
# usage: make_seeds.sh BPTT_BINARY SOURCE_DIR OUT
set -euo pipefail
bptt=$1 src=$2 out=$3
export OPENBLAS_NUM_THREADS=1
rm -rf "$out"
mkdir -p "$out/model" "$out/safetensors"
cp "$src"/models/*.yaml "$src"/tests/fuzz/seeds/*.yaml "$out/model/"
st=$out/safetensors
# the model fuzz_safetensors loads checkpoints into: keep these sets in step with it
small=(--set 'model.layers[0].hidden=8' --set train.batch=2 --set train.eval_batch=2
       --set data.steps=4)
m=$src/models
q() { "$bptt" "$@" >/dev/null; }
q init "$m/tanh_adding.yaml" "${small[@]}" --out "$st/weights.safetensors"
q train "$m/tanh_adding.yaml" "${small[@]}" --steps 2 --quiet --out "$st/checkpoint.safetensors"
q train "$m/tanh_adding.yaml" "${small[@]}" --steps 1 --quiet --set train.optimizer=sgd \
  --set train.momentum=0.5 --out "$st/checkpoint_sgd.safetensors"
q batch "$m/tanh_adding.yaml" "${small[@]}" --size 2 --out "$st/batch_adding.safetensors"
q grads "$m/tanh_adding.yaml" "${small[@]}" --weights "$st/weights.safetensors" \
  --batch "$st/batch_adding.safetensors" --out "$st/grads.safetensors"
q batch "$m/gru_copy.yaml" --set data.steps=1 --size 1 --out "$st/batch_copy.safetensors"
q batch "$m/char_lstm.yaml" --set data.steps=3 --size 2 --out "$st/batch_chars.safetensors"
q train "$m/lstm_adding.yaml" --set 'model.layers[0].hidden=2' --set train.batch=1 \
  --set train.eval_batch=1 --set data.steps=2 --steps 1 --quiet \
  --out "$st/checkpoint_lstm.safetensors"
touch "$out/stamp"
