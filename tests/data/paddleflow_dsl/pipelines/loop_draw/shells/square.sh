#!/bin/bash
# square.sh N FILE: writes N*N to FILE (this copy's result artifact).
set -e
test "$1" = "$PF_LOOP_ARGUMENT"
echo $(($1 * $1)) > "$2"
