#!/bin/bash
# stamp.sh FILE: writes the run id and where the script was found to FILE.
set -e
echo "$PF_RUN_ID from $(pwd)" > "$1"
