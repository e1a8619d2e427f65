#!/bin/bash
# fit.sh ROWS_DIR OUT_DIR ROUNDS: one line per round, its "weight" the row count times
# the round number, in OUT_DIR/weights.txt.
set -eu
rows=$(wc -l < "$1/rows.txt")
mkdir -p "$2"
: > "$2/weights.txt"
for round in $(seq 1 "$3"); do
  echo "round $round weight $((rows * round))" >> "$2/weights.txt"
done
