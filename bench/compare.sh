#!/usr/bin/env bash
# Side-by-side wall time: infraspec, pytest-testinfra and serverspec on the same
# checks, against the local machine, a loopback sshd and a running container;
# then a fleet run (many containers at once) and infraspec's peak memory.
#
#   bash bench/compare.sh            # 100 and 1000 checks, 7 runs each, fleets of 20 and 50
#   bash bench/compare.sh --quick    # 14 checks, 1 run, fleets of 2: that the harness works
#   TARGETS="ssh" SIZES="100" RUNS=5 FLEET="10" DISTINCT=1000 bash bench/compare.sh
#   FLEET=50 SSH_FLEET=100 bash bench/compare.sh   # issue 29's fleets
#
# Besides the side-by-side table it times DISTINCT distinct checks
# (bench/distinct.py: packages, users, groups, files, 50 commands, 50 closed
# ports, taken from the target itself) and fleets: FLEET containers, and as
# many SSH targets (aliases of the loopback sshd, one connection each), with
# the smallest corpus on each, reporting wall time and CPU per target (the
# whole machine's busy time from /proc/stat, divided by the targets).
#
# Needs root and Docker (it starts containers; tests/images/build.sh builds the
# images). The SSH target is an sshd in the Debian test image on the host's
# loopback (host network), as in the test suite: no user is created on this
# machine. pytest-testinfra (with paramiko)
# comes from PyPI into bench/.venv; serverspec is Debian's ruby-serverspec.
# testinfra and serverspec are timed on the smallest size only: they pay one
# remote command per check, so larger corpora only take proportionally longer.
# serverspec's Debian-packaged docker backend does not work, so, as its users
# do, it reaches the container over SSH (sshd started inside it).
# Prints medians of whole-process wall time and the ratios to infraspec.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

TARGETS=${TARGETS:-"local ssh docker"}
SIZES=${SIZES:-"100 1000"}
RUNS=${RUNS:-7}
FLEET=${FLEET:-"20 50"}
# SSH fleets (aliases of the one test sshd): as FLEET unless set.
SSH_FLEET=${SSH_FLEET:-$FLEET}
DISTINCT=${DISTINCT:-1000}
if [ "${1:-}" = "--quick" ]; then SIZES=14; RUNS=1; FLEET=2; SSH_FLEET=2; DISTINCT=120; fi

cargo build --release --quiet
bin=$root/target/release/infraspec
venv=$root/bench/.venv
if [ ! -x "$venv/bin/pytest" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pytest-testinfra paramiko
fi
command -v rspec >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby-serverspec >/dev/null

work=$(mktemp -d)
chmod 755 "$work"
pids=()
containers=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "${#containers[@]}" -eq 0 ] || docker rm -f -v "${containers[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/home/.ssh/id_bench"
cp "$work/home/.ssh/id_bench.pub" "$work/authorized_keys"
key=$work/home/.ssh/id_bench
: > "$work/home/.ssh/known_hosts"
: > "$work/home/.ssh/config"

wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

bash tests/images/build.sh

# A loopback sshd for the ssh target, in a test container on the host network.
if [[ " $TARGETS " == *" ssh "* ]]; then
  ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
  chmod 755 "$work"; chmod 644 "$work/authorized_keys" "$work/host_key.pub"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat > "$work/sshd_config" <<CFG
Port $port
ListenAddress 127.0.0.1
HostKey /bench/host_key
PidFile /run/sshd-bench.pid
AuthorizedKeysFile /bench/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
PermitRootLogin no
AllowUsers infraspec-ssh
MaxSessions 200
MaxStartups 200
LogLevel ERROR
CFG
  docker run -d --name "infraspec-bench-sshd-$$" --network host -v "$work:/bench:ro" \
    --entrypoint /usr/sbin/sshd infraspec-test/debian:12 -D -e -f /bench/sshd_config >/dev/null
  containers+=("infraspec-bench-sshd-$$")
  wait_port 127.0.0.1 "$port"
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/host_key.pub")" >> "$work/home/.ssh/known_hosts"
  printf 'Host benchbox\n  HostName 127.0.0.1\n  Port %s\n  User infraspec-ssh\n  IdentityFile %s\n  StrictHostKeyChecking no\n  UserKnownHostsFile %s\n' \
    "$port" "$key" "$work/home/.ssh/known_hosts" >> "$work/home/.ssh/config"
  # The peers' clients get StrictHostKeyChecking no; infraspec refuses it (it
  # always checks host keys) and checks the key recorded above, with the same
  # config otherwise.
  grep -v 'StrictHostKeyChecking no' "$work/home/.ssh/config" > "$work/home/.ssh/config.infraspec"
fi

# One running container for the docker target, with sshd inside for serverspec.
start_container() { # name
  docker run -d --name "$1" -v "$work/authorized_keys:/root/.ssh/authorized_keys:ro" infraspec-test/debian:12 \
    sh -c 'mkdir -p /run/sshd && /usr/sbin/sshd && exec nginx -g "daemon off;"' >/dev/null
  containers+=("$1")
}
container=infraspec-bench-$$
if [[ " $TARGETS " == *" docker "* ]]; then
  start_container "$container"
  cip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$container")
  wait_port "$cip" 22
fi

infraspec_target() {
  case $1 in
    local) echo local ;;
    ssh) echo "ssh://benchbox?ssh_config=$work/home/.ssh/config.infraspec" ;;
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
serverspec_env() {
  case $1 in
    local) echo "SERVERSPEC_NONE=1" ;;
    ssh) echo "SERVERSPEC_HOST=127.0.0.1 SERVERSPEC_PORT=$port SERVERSPEC_USER=infraspec-ssh SERVERSPEC_KEY=$key" ;;
    docker) echo "SERVERSPEC_HOST=$cip SERVERSPEC_PORT=22 SERVERSPEC_USER=root SERVERSPEC_KEY=$key" ;;
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
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'; }

smallest=$(printf '%s\n' $SIZES | sort -n | head -1)
printf '%-7s %-7s %-13s %-13s %-8s %-13s %s\n' target checks infraspec_ms testinfra_ms ratio serverspec_ms ratio
for n in $SIZES; do
  python3 bench/corpus.py "$n" "$work/c$n"
  for t in $TARGETS; do
    is=$(HOME=$work/home time_runs "$bin" --target "$(infraspec_target "$t")" "$work/c$n/spec.yaml")
    ti=-; tr=-; ss=-; sr=-
    if [ "$n" = "$smallest" ]; then
      # shellcheck disable=SC2046
      ti=$(cd "$work/c$n" && HOME=$work/home time_runs "$venv/bin/pytest" -q -p no:cacheprovider $(testinfra_args "$t") test_corpus.py)
      # shellcheck disable=SC2046
      ss=$(cd "$work/c$n" && time_runs env $(serverspec_env "$t") rspec spec/corpus_spec.rb)
      tr=$(ratio "$ti" "$is"); sr=$(ratio "$ss" "$is")
    fi
    printf '%-7s %-7s %-13s %-13s %-8s %-13s %s\n' "$t" "$n" "$is" "$ti" "$tr" "$ss" "$sr"
  done
done

# Peak memory of infraspec for the largest corpus on the first target.
largest=$(printf '%s\n' $SIZES | sort -n | tail -1)
first=$(echo $TARGETS | cut -d' ' -f1)
peak=$(HOME=$work/home /usr/bin/time -f '%M' "$bin" --target "$(infraspec_target "$first")" "$work/c$largest/spec.yaml" 2>&1 >/dev/null | tail -1)
echo "peak memory, $largest checks on $first: $((peak / 1024)) MB"

# What a batch starts on the target: processes and execs of a local run of
# the smallest corpus (strace, when there is one; the run is slower under it).
if [[ " $TARGETS " == *" local "* ]] && command -v strace >/dev/null; then
  strace -f -qq -e trace=execve,fork,vfork,clone,clone3 -o "$work/strace" \
    "$bin" --target local "$work/c$smallest/spec.yaml" >/dev/null
  execs=$(grep -c 'execve(.*= 0$\|execve resumed.*= 0$' "$work/strace" || true)
  forks=$(grep -E 'fork\(|clone3?\(' "$work/strace" | grep -vc 'CLONE_THREAD' || true)
  echo "processes, $smallest checks on local: $forks started, $((execs - 1)) execs (infraspec's own exec not counted)"
fi

# DISTINCT distinct checks per target, taken from the target's own contents
# (the SSH target is the same Debian image as the container).
for t in $TARGETS; do
  case $t in
    local) python3 bench/distinct.py "$DISTINCT" "$work/d-$t.yaml" ;;
    *) [ -n "${cip:-}" ] || { start_container "$container"; cip=x; }
       python3 bench/distinct.py "$DISTINCT" "$work/d-$t.yaml" "$container" ;;
  esac
  dt=$(HOME=$work/home time_runs "$bin" --target "$(infraspec_target "$t")" "$work/d-$t.yaml")
  echo "distinct: $DISTINCT checks on $t: $dt ms"
done

# The machine's busy CPU time so far, in ms (all CPUs, from /proc/stat: user,
# nice, system, irq and softirq; not the time a hypervisor stole).
busy_ms() { awk '/^cpu / { print ($2 + $3 + $4 + $7 + $8) * 10; exit }' /proc/stat; }
# CPU time in ms of the processes named NAME (utime + stime, and what their
# reaped children used: runc is reaped by its containerd-shim).
cpu_of() {
  local total=0 p f
  for p in $(pgrep -x "$1" || true); do
    f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
    total=$((total + $(echo "$f" | awk '{ print $12 + $13 + $14 + $15 }')))
  done
  echo $((total * 1000 / $(getconf CLK_TCK)))
}
engine_cpu() { echo "$(cpu_of dockerd) $(cpu_of containerd) $(cpu_of containerd-shim) $(cpu_of sshd)"; }
# fleet LABEL N TARGET-ARGS…: median wall time, then one more run for CPU,
# split by who spent it: infraspec, dockerd, containerd, the containers'
# shims with what they reaped (runc, and each exec's sh with the probes it
# ran), sshd with what it reaped (each session's sh and probes), and the rest
# of the machine (the kernel's own work, anything else running).
fleet() {
  local label=$1 n=$2; shift 2
  local wall before after e0 e1
  wall=$(HOME=$work/home time_runs "$bin" "$@" "$work/c$smallest/spec.yaml")
  e0=$(engine_cpu)
  before=$(busy_ms)
  HOME=$work/home /usr/bin/time -f '%U %S' -o "$work/own" "$bin" "$@" "$work/c$smallest/spec.yaml" >/dev/null
  after=$(busy_ms)
  e1=$(engine_cpu)
  read -r u s < "$work/own"
  awk -v l="$label" -v n="$n" -v c="$smallest" -v w="$wall" -v b=$((after - before)) -v u="$u" -v s="$s" \
    -v e0="$e0" -v e1="$e1" 'BEGIN {
    split(e0, x, " "); split(e1, y, " ")
    own = (u + s) * 1000
    d = y[1] - x[1]; cd = y[2] - x[2]; sh = y[3] - x[3]; ss = y[4] - x[4]
    printf "fleet: %d %s x %d checks: %d ms wall; CPU per target %.1f ms (whole machine), infraspec itself %.1f ms\n",
      n, l, c, w, b / n, own / n
    printf "  CPU per target by who: infraspec %.1f, dockerd %.1f, containerd %.1f, shims with runc and the execs %.1f, sshd with its sessions %.1f, the rest %.1f ms\n",
      own / n, d / n, cd / n, sh / n, ss / n, (b - own - d - cd - sh - ss) / n }'
}
for n in $FLEET; do
  if [[ " $TARGETS " == *" docker "* ]]; then
    fleet_args=()
    for i in $(seq "$n"); do
      name=infraspec-fleet-$$-$i
      docker inspect "$name" >/dev/null 2>&1 || start_container "$name"
      fleet_args+=(--target "docker://$name")
    done
    sleep 1
    fleet containers "$n" "${fleet_args[@]}"
    # The engine's side of one bare exec (`docker exec NAME true`, all at
    # once, one per container): what each target's one exec costs before
    # anything runs in it.
    e0=$(engine_cpu)
    for i in $(seq "$n"); do docker exec "infraspec-fleet-$$-$i" true & done; wait
    e1=$(engine_cpu)
    awk -v n="$n" -v e0="$e0" -v e1="$e1" 'BEGIN { split(e0, x, " "); split(e1, y, " ")
      printf "  one bare docker exec, engine side: dockerd %.1f, containerd %.1f, shim and runc %.1f ms\n",
        (y[1] - x[1]) / n, (y[2] - x[2]) / n, (y[3] - x[3]) / n }' 
  fi
done
for n in $SSH_FLEET; do
  if [[ " $TARGETS " == *" ssh "* ]]; then
    fleet_args=()
    for i in $(seq "$n"); do
      grep -q "^Host benchbox$i\$" "$work/home/.ssh/config" ||
        printf 'Host benchbox%s\n  HostName 127.0.0.1\n  Port %s\n  User infraspec-ssh\n  IdentityFile %s\n  UserKnownHostsFile %s\n' \
          "$i" "$port" "$key" "$work/home/.ssh/known_hosts" >> "$work/home/.ssh/config"
      fleet_args+=(--target "ssh://benchbox$i")
    done
    fleet "ssh targets" "$n" "${fleet_args[@]}"
  fi
done
