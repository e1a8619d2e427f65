#!/bin/bash
# split.sh SOURCE_DIR TRAIN_DIR HOLDOUT_DIR: writes six numbers to SOURCE_DIR/all.txt,
# then odd positions to the train artifact, even positions to the holdout artifact.
set -e
echo "train artifact path from env: ${PF_OUTPUT_ARTIFACT_TRAIN_ROWS}"
mkdir -p "$1" "$2" "$3"
printf '%s\n' 11 22 33 44 55 66 > "$1/all.txt"
sed -n 'p;n' "$1/all.txt" > "$2/rows.txt"
sed -n 'n;p' "$1/all.txt" > "$3/rows.txt"
