#!/bin/bash
# label.sh RUN STEP USER: records what the step was told, and its LABEL_NOTE.
set -eu
mkdir -p vc_relay/out
echo "$1 $2 $3 $LABEL_NOTE" > "vc_relay/out/$1.label"
