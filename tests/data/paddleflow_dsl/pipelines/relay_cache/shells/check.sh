#!/bin/bash
# check.sh WEIGHTS_DIR: the holdout and the weights arrive as input artifacts.
set -e
echo "holdout rows at ${PF_INPUT_ARTIFACT_HOLDOUT}, weights at $1"
test -s "$1/weights.txt"
cat "$1/weights.txt"
