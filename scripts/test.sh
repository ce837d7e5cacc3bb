#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: set-up, formatting, lints, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# Tesseract's OpenMP threads slow OCR down on top of parallel tests; the server sets this itself.
export OMP_THREAD_LIMIT=1
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
cargo test --locked --all-targets
