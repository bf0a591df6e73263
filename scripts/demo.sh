#!/usr/bin/env bash
# The main job on the bundled demo data, in ./.venv (created on first use).
source "$(dirname "$0")/_venv.sh"
cd "$root"
"$venv/bin/wip" cost examples/demo/case.yaml "$@"
