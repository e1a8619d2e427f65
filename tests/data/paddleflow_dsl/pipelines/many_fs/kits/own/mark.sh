#!/bin/bash
# Run from the step's own extra fs.
echo "own fs at $(pwd)" >> "$PF_OUTPUT_ARTIFACT_OWN_NOTE"
