#!/bin/bash
# Run from the pipeline-wide extra fs.
echo "shared fs at $(pwd)" >> "$PF_OUTPUT_ARTIFACT_SHARED_NOTE"
