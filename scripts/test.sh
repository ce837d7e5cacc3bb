#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set-up, formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
