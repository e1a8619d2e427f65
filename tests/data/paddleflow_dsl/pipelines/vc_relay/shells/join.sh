#!/bin/bash
# join.sh RUN MODEL_PATH LEVEL RATIO MODEL_PREFIX: one line of what it was handed.
set -eu
grep -q "model of $1" "$5.$1"
mkdir -p vc_relay/out
echo "$2 $3 $4" > "vc_relay/out/$1.join"
