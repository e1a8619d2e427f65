#!/bin/bash
# gather.sh DIR COUNT: writes COUNT numbered rows to DIR/rows.txt.
set -eu
mkdir -p "$1"
: > "$1/rows.txt"
for i in $(seq 1 "$2"); do
  echo "row $i" >> "$1/rows.txt"
done
echo "gathered $2 rows in $1 ($GREETING)"
