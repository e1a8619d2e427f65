#!/bin/bash
# collect.sh DIR: writes three samples to DIR/samples.txt. While a file queue_relay/hold
# exists (a test made it) the step keeps its queue share, up to 60 s, so that the
# queue can be looked at with this step admitted.
set -eu
for _ in $(seq 1 1200); do
  [ -e queue_relay/hold ] || break
  sleep 0.05
done
mkdir -p "$1"
printf 'sample %s\n' 3 5 7 > "$1/samples.txt"
echo "collected 3 samples in $1 ($ORIGIN)"
