#!/bin/bash
# total.sh FILES OUT: sums the numbers in FILES (paths joined with commas) into OUT.
set -e
IFS=, read -ra files <<< "$1"
sum=0
for f in "${files[@]}"; do
  sum=$((sum + $(cat "$f")))
done
echo "${#files[@]} files: $sum" > "$2"
