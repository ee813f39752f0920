#!/usr/bin/env bash
# alca's whole test suite, from a fresh Debian machine (run as root) to green:
# provisions the engines and the test image, then runs every suite against
# the real docker and podman, the real wasm components and real processes.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/provision.sh

echo "== unit and end-to-end tests (workspace)" >&2
cargo test --workspace --locked

echo "== docker-compatible plugin logic (host-side unit tests)" >&2
(cd plugins && cargo test --locked -p alca-docker-compat)
echo "== Apple container plugin logic (host-side unit tests)" >&2
(cd plugins && cargo test --locked -p alca-plugin-apple)
echo "== the fake Apple container CLI itself" >&2
(cd tests/fakes/apple && python3 -B -m unittest test_fake)

echo "== example plugins' own unit tests (JavaScript, Python)" >&2
(cd plugins/examples/docker-js && npm test --silent)
(cd plugins/examples/containerd-py && python3 -m unittest discover -s tests)
