#!/bin/bash
# draw.sh COUNT FILE: writes the first COUNT odd numbers from 3 as a JSON list to FILE.
set -e
items=""
for i in $(seq 1 "$1"); do
  items="${items:+$items, }$((2 * i + 1))"
done
echo "[$items]" > "$2"
