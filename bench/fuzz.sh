#!/usr/bin/env bash
# Long runs of the property tests in tests/hostile.rs: probe-output framing,
# every parser of target output and user input, version orderings, and hostile
# names run for real on this machine. Bounded in time.
#
#   bash bench/fuzz.sh            # 200000 cases per property, at most 20 minutes
#   CASES=5000 MINUTES=2 bash bench/fuzz.sh
#
# These are the fuzz targets: cargo-fuzz needs a nightly toolchain, which this
# project does not use, so the same properties run under proptest, whose
# generators aim at what matters here (markers with other nonces, NUL,
# invalid UTF-8, shell metacharacters) rather than at random bytes alone.
set -euo pipefail
cd "$(dirname "$0")/.."
CASES=${CASES:-200000}
MINUTES=${MINUTES:-20}
cargo build --release --tests --quiet
echo "parsers and framing: $CASES cases each"
INFRASPEC_PROPTEST_CASES=$CASES timeout "$((MINUTES * 60))" \
  cargo test --release --quiet --test hostile -- --skip hostile_names
names=$((CASES / 100 > 100 ? CASES / 100 : 100))
echo "hostile names run for real: $names cases"
INFRASPEC_PROPTEST_CASES=$names timeout "$((MINUTES * 60))" \
  cargo test --release --quiet --test hostile hostile_names
