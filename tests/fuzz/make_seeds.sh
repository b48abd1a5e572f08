#!/usr/bin/env bash
# Seed corpora for the fuzzers, written at build time (nothing binary is committed):
#   OUT/model/        the shipped models/*.yaml and tests/fuzz/seeds/*.yaml
#   OUT/safetensors/  weights, checkpoints, batches and gradients written by bptt itself
#   OUT/npy/          each tests/fuzz/seeds/npy/*.header (the dict numpy writes) made a
#                     .npy file, as format 1.0 and 2.0, with the data bytes its shape needs
#   OUT/csv/          tests/fuzz/seeds/csv/*.csv (the first byte: fuzz_csv's options)
#   OUT/dataset/      bptt's batch files and the CSV seeds, each behind fuzz_dataset's
#                     options byte (0x02: safetensors with a validation fraction; the
#                     CSV seeds' own byte, with bit 0 set)
# usage: make_seeds.sh BPTT_BINARY SOURCE_DIR OUT
set -euo pipefail
bptt=$1 src=$2 out=$3
export OPENBLAS_NUM_THREADS=1
rm -rf "$out"
mkdir -p "$out/model" "$out/safetensors" "$out/npy" "$out/csv" "$out/dataset"
cp "$src"/models/*.yaml "$src"/tests/fuzz/seeds/*.yaml "$out/model/"
cp "$src"/tests/fuzz/seeds/csv/*.csv "$out/csv/"

# npy_seed HEADER_FILE MAJOR OUT: magic, version MAJOR.0, the header length (2 bytes in
# 1.0, 4 in 2.0), the header padded with spaces and '\n' to a multiple of 64 as numpy
# pads it, then zero bytes: the shape's element count times the descr's size (8 for
# '|O', which has none).
byte() { printf "\\$(printf %03o "$1")"; }
npy_seed() {
  local text lb=2 w n=1 d hl
  text=$(cat "$1")
  [ "$2" = 1 ] || lb=4
  w=$(printf '%s' "$text" | grep -o "'descr': *'[^']*'" | grep -o '[0-9]*' | tail -1)
  for d in $(printf '%s' "${text##*shape}" | sed 's/).*//' | grep -o '[0-9]\+'); do
    n=$((n * d))
  done
  hl=${#text}
  while [ $(((8 + lb + hl + 1) % 64)) -ne 0 ]; do text="$text "; hl=$((hl + 1)); done
  hl=$((hl + 1))
  {
    printf '\223NUMPY'
    byte "$2"; byte 0; byte $((hl & 255)); byte $((hl >> 8 & 255))
    [ "$lb" = 2 ] || printf '\000\000'
    printf '%s\n' "$text"
    head -c $((n * ${w:-8})) /dev/zero
  } >"$3"
}
for h in "$src"/tests/fuzz/seeds/npy/*.header; do
  for v in 1 2; do npy_seed "$h" "$v" "$out/npy/$(basename "$h" .header).v$v.npy"; done
done
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
for b in "$st"/batch_*.safetensors; do
  { printf '\002'; cat "$b"; } >"$out/dataset/$(basename "$b")"
done
for c in "$src"/tests/fuzz/seeds/csv/*.csv; do
  first=$(head -c 1 "$c" | od -An -tu1 | tr -d ' ')
  { byte $((first | 1)); tail -c +2 "$c"; } >"$out/dataset/$(basename "$c")"
done
touch "$out/stamp"
