#!/bin/bash
# Run from the main fs (the step started at its mount_path).
echo "base fs at $(pwd)" >> "$PF_OUTPUT_ARTIFACT_BASE_NOTE"
