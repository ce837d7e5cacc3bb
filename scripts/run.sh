#!/usr/bin/env bash
# Installs what is missing, builds docket in release mode and serves it on the embedded default
# (SQLite + local files in ./data, or DOCKET_DATA_DIR). Extra arguments go to `docket serve`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
exec cargo run --locked --release -- serve "$@"
