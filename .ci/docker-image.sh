#!/usr/bin/env bash
# The Dockerfile builds a runtime image that runs a real check. No registry is
# reachable here, so the bases are the locally built test image and the
# binary is the release build on this (Debian 12) machine (PREBUILT); the
# default path (rust:1-slim-bookworm, debian:bookworm-slim) compiles it.
set -euo pipefail
cd "$(dirname "$0")/.."
# INFRASPEC_IMAGE_BIN: another binary (e.g. a debug build) to try the
# Dockerfile quickly; CI uses the release build (made by the benchmarks).
bin=${INFRASPEC_IMAGE_BIN:-target/release/infraspec}
[ -n "${INFRASPEC_IMAGE_BIN:-}" ] || cargo build --release --locked --quiet --bin infraspec
tag="infraspec-test/runtime:$$"
# The image, and the untagged build-stage image the legacy builder keeps
# (labelled with this run's id): removed by name and label, nothing else.
cleanup() {
  docker rmi -f "$tag" >/dev/null 2>&1 || true
  docker image prune -f --filter "label=org.infraspec.build-stage=$$" >/dev/null 2>&1 || true
}
trap cleanup EXIT
docker build -q \
  --build-arg BUILDER=infraspec-test/debian:12 \
  --build-arg RUNTIME=infraspec-test/debian:12 \
  --build-arg PACKAGES= \
  --build-arg PREBUILT="$bin" \
  --build-arg BUILD_ID=$$ \
  -t "$tag" . >/dev/null
run() { docker run --rm --label "infraspec.test=docker-image-$$" "$tag" "$@"; }
run --version
out=$(run -c '{file: /usr/local/bin/infraspec, mode: "0755"}' -c '{user: root, uid: 0}')
printf '%s\n' "$out"
printf '%s\n' "$out" | grep -q '2 passed, 0 failed'
# A failing check fails the container's exit status.
if run -c '{file: /nonexistent, exists: true}' >/dev/null; then
  echo "a failing check passed in the image" >&2
  exit 1
fi
printf 'binary: %s bytes\n' "$(stat -c %s "$bin")"
