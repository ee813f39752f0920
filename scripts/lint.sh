#!/usr/bin/env bash
# Formatting and clippy, on the host workspace and on both plugin workspaces.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)
(cd tests/plugins && cargo fmt --all --check)
cargo clippy --workspace --all-targets --locked -- -D warnings
(cd plugins && cargo clippy --locked --target wasm32-wasip2 -- -D warnings)
(cd tests/plugins && cargo clippy --locked --target wasm32-wasip2 -- -D warnings)
