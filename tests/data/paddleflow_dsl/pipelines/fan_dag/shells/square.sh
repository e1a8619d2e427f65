#!/bin/bash
# square.sh IN OUT: each number of IN squared, one a line.
set -eu
: > "$2"
while read -r n; do echo $((n * n)) >> "$2"; done < "$1"
