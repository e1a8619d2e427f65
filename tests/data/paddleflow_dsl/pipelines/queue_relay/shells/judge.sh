#!/bin/bash
# judge.sh MODEL_DIR: fails unless a model was written.
set -eu
grep -q '^model [0-9]' "$1/model.txt"
cat "$1/model.txt"
