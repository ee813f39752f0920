#!/usr/bin/env bash
# Runs alca's fuzz targets (proptest properties) for a given time, with
# fresh random inputs each round and more cases per round:
#   core:   the argv parser against a literal port of pflag, the built-in
#           grant's soundness (what it allows is what was asked), the config
#           loader on any text or bytes, the real built-in plugins against
#           random specs (never refused);
#   plugins: docker-compat's output parsers and error classification.
# Usage: scripts/fuzz.sh [seconds]   (default 600). Not part of CI's budget:
# the ordinary test suite runs the same targets with fewer cases.
# A failure stops the run and prints the minimal failing input; proptest!
# targets also save it under */proptest-regressions/ (commit that file: every
# later test run replays it); for the others, turn it into a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_BUDGET="${1:-600}"
end=$(( $(date +%s) + SECONDS_BUDGET ))
cases=1000
round=0
cargo test -p alca-core --locked --no-run -q 2>/dev/null
(cd plugins && cargo test -p alca-docker-compat --locked --no-run -q 2>/dev/null)
while [ "$(date +%s)" -lt "$end" ]; do
  round=$((round + 1))
  echo "== round $round: $cases cases per target" >&2
  export PROPTEST_CASES="$cases"
  cargo test -p alca-core --locked -q --lib fuzz
  cargo test -p alca-core --locked -q --test builtin_plugins every_spec
  (cd plugins && cargo test -p alca-docker-compat --locked -q fuzz)
  cases=$(( cases * 2 > 200000 ? 200000 : cases * 2 ))
done
echo "fuzzed for ${SECONDS_BUDGET}s ($round rounds): no failure" >&2
