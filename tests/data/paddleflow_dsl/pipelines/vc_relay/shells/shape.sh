#!/bin/bash
# shape.sh RUN MODEL_PREFIX: writes a "model" next to the prefix.
set -eu
mkdir -p "$(dirname "$2")"
echo "model of $1" > "$2.$1"
