#!/bin/bash
# square.sh N FILE: writes N*N to FILE and adds it to the run's squares in the main fs.
set -e
test "$1" = "$PF_LOOP_ARGUMENT"
echo $(($1 * $1)) > "$2"
mkdir -p "loop_draw/out/$PF_RUN_ID"
echo $(($1 * $1)) > "loop_draw/out/$PF_RUN_ID/$PF_STEP_NAME"
