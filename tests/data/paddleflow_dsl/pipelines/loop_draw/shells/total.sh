#!/bin/bash
# total.sh RUN: sums the squares the copies of square wrote for RUN.
set -e
sum=0
for f in "loop_draw/out/$1"/*; do
  sum=$((sum + $(cat "$f")))
done
echo "$sum" > "loop_draw/out/$1.total"
