#!/usr/bin/env bash
# Wall time of infraspec for 100 and 1000 checks on the local machine.
#
#   bash bench/local.sh            # 100 and 1000 checks, 9 runs each, medians
#   bash bench/local.sh --quick    # 20 checks, 3 runs: that the harness works
#
# The corpus mixes packages, files, contents, users, groups, commands and ports,
# taken from what this machine really has, so every check is a real observation.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"

sizes=(100 1000); runs=9
if [ "${1:-}" = "--quick" ]; then sizes=(20); runs=3; fi

cargo build --release --quiet
bin=target/release/infraspec

mapfile -t packages < <(dpkg-query -W -f '${binary:Package}\n' | head -n 200)
mapfile -t files < <(find /etc -maxdepth 1 -type f -readable | sort | head -n 200)
mapfile -t users < <(cut -d: -f1 /etc/passwd)
mapfile -t groups < <(cut -d: -f1 /etc/group)

corpus() {
  local n=$1 i=0
  echo "checks:"
  while [ "$i" -lt "$n" ]; do
    case $((i % 8)) in
      0) printf '  - package: %s\n' "${packages[$((i / 8 % ${#packages[@]}))]}" ;;
      1) printf '  - file: %s\n    type: file\n' "${files[$((i / 8 % ${#files[@]}))]}" ;;
      2) printf '  - file: /etc/passwd\n    content: { contains: "root:" }\n' ;;
      3) printf '  - user: %s\n' "${users[$((i / 8 % ${#users[@]}))]}" ;;
      4) printf '  - group: %s\n' "${groups[$((i / 8 % ${#groups[@]}))]}" ;;
      5) printf '  - command: echo %d\n    stdout: "%d"\n' "$i" "$i" ;;
      6) printf '  - port: %d\n    listening: false\n' $((40000 + i)) ;;
      7) printf '  - file: %s\n    owner: root\n' "${files[$((i / 8 % ${#files[@]}))]}" ;;
    esac
    i=$((i + 1))
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-8s %-12s %-14s %s\n' checks median_ms round_trips probes
for n in "${sizes[@]}"; do
  spec="$out/local-$n.yaml"
  corpus "$n" > "$spec"
  times=()
  for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" --format json -o "$out/local-$n.json" "$spec" || { echo "infraspec failed on $spec" >&2; exit 1; }
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  med=$(printf '%s\n' "${times[@]}" | median)
  trips=$(grep -o '"round_trips": [0-9]*' "$out/local-$n.json" | head -1 | grep -o '[0-9]*$')
  probes=$(grep -o '"probes": [0-9]*' "$out/local-$n.json" | head -1 | grep -o '[0-9]*$')
  printf '%-8s %-12s %-14s %s\n' "$n" "$med" "$trips" "$probes"
done
