#!/bin/bash
# prepare.sh DIR: writes the samples the distributed step would read.
set -eu
mkdir -p "$1"
printf 'sample %s\n' 1 2 > "$1/samples.txt"
echo "prepared $1 ($ORIGIN)"
