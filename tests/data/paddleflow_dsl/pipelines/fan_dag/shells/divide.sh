#!/bin/bash
# divide.sh FILE PIVOT LOW HIGH: numbers up to PIVOT go to LOW, the others to HIGH.
set -eu
: > "$3"
: > "$4"
while read -r n; do
  if [ "$n" -le "$2" ]; then echo "$n" >> "$3"; else echo "$n" >> "$4"; fi
done < "$1"
