#!/usr/bin/env bash
# After the whole suite: nothing infraspec or its tests made may remain on
# this machine or its engines (issue 27): no container (throwaways are
# labelled org.infraspec.managed, test containers infraspec.test), no batch
# directory (.infraspec-*) in a temporary directory, no private podman
# service or its socket directory.
set -uo pipefail
bad=0
say() { echo "left behind: $*" >&2; bad=1; }
for engine in docker podman; do
  command -v "$engine" >/dev/null || continue
  for label in org.infraspec.managed=true infraspec.test; do
    ids=$("$engine" ps -aq --filter "label=$label" 2>/dev/null)
    [ -z "$ids" ] || say "$engine containers labelled $label: $(echo $ids)"
  done
done
for d in /tmp /dev/shm /var/tmp "${XDG_RUNTIME_DIR:-/tmp}"; do
  for f in "$d"/.infraspec-* "$d"/infraspec-podman-*; do
    [ -e "$f" ] && say "$f"
  done
done
if pgrep -af 'infraspec-podman-' >/dev/null; then
  say "podman services: $(pgrep -af 'infraspec-podman-')"
fi
[ "$bad" = 0 ] && echo "nothing left behind"
exit "$bad"
