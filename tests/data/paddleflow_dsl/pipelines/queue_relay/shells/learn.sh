#!/bin/bash
# learn.sh PASSES SAMPLES_DIR MODEL_DIR: the "model" is the samples' sum times PASSES.
set -eu
sum=$(awk '{s += $2} END {print s}' "$2/samples.txt")
mkdir -p "$3"
echo "model $((sum * $1))" > "$3/model.txt"
