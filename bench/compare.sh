#!/usr/bin/env bash
# Side-by-side wall time: infraspec against pytest-testinfra on the same checks.
#
#   bash bench/compare.sh                  # local, ssh, docker; 100 and 1000 checks; 7 runs
#   bash bench/compare.sh --quick          # 14 checks, 1 run: that the harness works
#   TARGETS="ssh" SIZES="100" RUNS=5 bash bench/compare.sh
#
# pytest-testinfra (with paramiko) is installed from PyPI into bench/.venv.
# The SSH target is an sshd this script starts on 127.0.0.1 (needs root and
# tests/ssh/setup.sh); the docker target is a container this script starts
# from infraspec-test/debian:12 (tests/images/build.sh).
# pytest-testinfra is timed on the smallest size only: it
# pays one remote command per check, so larger corpora only take longer.
# Prints medians of whole-process wall time and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

TARGETS=${TARGETS:-"local ssh docker"}
SIZES=${SIZES:-"100 1000"}
RUNS=${RUNS:-7}
if [ "${1:-}" = "--quick" ]; then SIZES=14; RUNS=1; fi

cargo build --release --quiet
bin=$root/target/release/infraspec
venv=$root/bench/.venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pytest-testinfra paramiko
fi

work=$(mktemp -d)
pids=()
container=infraspec-bench-$$
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  docker rm -f -v "$container" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# One sshd for the ssh target.
if [[ " $TARGETS " == *" ssh "* ]]; then
  bash tests/ssh/setup.sh
  chmod 755 "$work"
  mkdir -p "$work/home/.ssh"
  ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/home/.ssh/id_bench"
  cp "$work/home/.ssh/id_bench.pub" "$work/authorized_keys"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin no
AllowUsers infraspec-ssh
MaxSessions 200
LogLevel ERROR
CFG
  /usr/sbin/sshd -D -e -f "$work/sshd_config" 2>"$work/sshd.log" & pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" > "$work/home/.ssh/known_hosts"
  printf 'Host benchbox\n  HostName 127.0.0.1\n  Port %s\n  User infraspec-ssh\n  IdentityFile %s\n  StrictHostKeyChecking no\n  UserKnownHostsFile %s\n' \
    "$port" "$work/home/.ssh/id_bench" "$work/home/.ssh/known_hosts" > "$work/home/.ssh/config"
fi

# One running container for the docker target.
if [[ " $TARGETS " == *" docker "* ]]; then
  bash tests/images/build.sh
  docker run -d --name "$container" infraspec-test/debian:12 >/dev/null
fi

infraspec_target() {
  case $1 in
    local) echo local ;;
    ssh) echo ssh://benchbox ;;
    docker) echo "docker://$container" ;;
  esac
}
testinfra_args() {
  case $1 in
    local) echo "--hosts=local://" ;;
    ssh) echo "--hosts=paramiko://benchbox --ssh-config=$work/home/.ssh/config" ;;
    docker) echo "--hosts=docker://$container" ;;
  esac
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

time_runs() { # command… ; prints the median in ms
  local times=() start
  for _ in $(seq "$RUNS"); do
    start=$(now_ms)
    "$@" >"$work/last.out" 2>&1 || { echo "FAILED: $*" >&2; tail -20 "$work/last.out" >&2; exit 1; }
    times+=($(( $(now_ms) - start )))
  done
  printf '%s\n' "${times[@]}" | median
}

smallest=$(printf '%s\n' $SIZES | sort -n | head -1)
printf '%-7s %-7s %-14s %-14s %s\n' target checks infraspec_ms testinfra_ms ratio
for n in $SIZES; do
  python3 bench/corpus.py "$n" "$work/c$n"
  for t in $TARGETS; do
    is=$(HOME=$work/home time_runs "$bin" --target "$(infraspec_target "$t")" "$work/c$n/spec.yaml")
    if [ "$n" = "$smallest" ]; then
      # shellcheck disable=SC2046
      ti=$(cd "$work/c$n" && HOME=$work/home time_runs "$venv/bin/pytest" -q -p no:cacheprovider $(testinfra_args "$t") test_corpus.py)
      ratio=$(awk -v a="$ti" -v b="$is" 'BEGIN { printf "%.1fx", a / b }')
    else
      ti=-; ratio=-
    fi
    printf '%-7s %-7s %-14s %-14s %s\n' "$t" "$n" "$is" "$ti" "$ratio"
  done
done
