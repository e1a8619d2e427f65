#!/bin/bash
# check.sh WEIGHTS_DIR: fails unless the first round was recorded.
set -eu
grep -q '^round 1 ' "$1/weights.txt"
echo "weights in $1 look complete"
