#!/usr/bin/env bash
# The quick start's first command: install what is missing, then start the console on the demo lab.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npm run demo
