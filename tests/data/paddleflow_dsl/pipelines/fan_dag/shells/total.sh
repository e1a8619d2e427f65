#!/bin/bash
# total.sh IN OUT_DIR: the sum of IN's numbers in OUT_DIR/total.txt.
set -eu
mkdir -p "$2"
sum=0
while read -r n; do sum=$((sum + n)); done < "$1"
echo "$sum" > "$2/total.txt"
