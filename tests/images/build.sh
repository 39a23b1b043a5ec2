#!/usr/bin/env bash
# Builds the container images the tests use, from local material only (no
# registry is reachable): each is skipped when it is already present.
#
#   infraspec-test/debian:12   Debian minbase rootfs (debootstrap) with nginx-light,
#                              procps, iproute2, openssh-server (not started) and
#                              sudo; runs nginx in the foreground; EXPOSE 80. The SSH
#                              tests start sshd in it: users infraspec-ssh (NOPASSWD
#                              sudo, logged to /var/log/infraspec-sudo.log) and
#                              infraspec-sshpw (password infraspec-test-pw, sudo asks)
#   infraspec-test/busybox:1   busybox-static with its applets; runs `sleep`
#   infraspec-test/noshell:1   FROM scratch: one static binary (/bin/sleep), a
#                              config file, no shell at all
#   infraspec-test/exits:1     busybox whose command exits at once with status 3
#
# Needs: docker (a running engine), debootstrap, busybox-static.
set -euo pipefail
for tool in docker debootstrap busybox; do
  command -v "$tool" >/dev/null 2>&1 || [ -x "/bin/$tool" ] || { echo "$tool is not installed (apt-get install docker.io debootstrap busybox-static)" >&2; exit 1; }
done
force=0
[ "${1:-}" = "--force" ] && force=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# An image is rebuilt when its recipe number (a label) is not the one here.
have() {
  [ "$force" = 0 ] || return 1
  [ "$(docker image inspect -f '{{index .Config.Labels "org.infraspec.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

busybox_rootfs() {
  local root=$1
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
  printf 'NAME="BusyBox"\nID=busybox\nVERSION_ID=1.35\nPRETTY_NAME="BusyBox 1.35 (infraspec test image)"\n' > "$root/etc/os-release"
}

if ! have infraspec-test/busybox:1 1; then
  busybox_rootfs "$work/busybox"
  tar -C "$work/busybox" -c . | docker import \
    -c 'CMD ["/bin/sleep", "3600"]' \
    -c 'LABEL org.infraspec.test=busybox' -c 'LABEL org.infraspec.recipe=1' - infraspec-test/busybox:1 >/dev/null
  echo "built infraspec-test/busybox:1"
fi

if ! have infraspec-test/exits:1 1; then
  busybox_rootfs "$work/exits"
  tar -C "$work/exits" -c . | docker import \
    -c 'CMD ["/bin/sh", "-c", "echo starting; echo cannot find config >&2; exit 3"]' \
    -c 'LABEL org.infraspec.recipe=1' - infraspec-test/exits:1 >/dev/null
  echo "built infraspec-test/exits:1"
fi

if ! have infraspec-test/noshell:1 1; then
  root="$work/noshell"
  mkdir -p "$root/bin" "$root/etc/app"
  # One static binary, named so that busybox runs it as `sleep`; no shell.
  cp /bin/busybox "$root/bin/sleep"
  printf 'listen = 8080\nmode = production\n' > "$root/etc/app/app.conf"
  chmod 0640 "$root/etc/app/app.conf"
  ln -s app.conf "$root/etc/app/current.conf"
  tar -C "$root" --owner=0 --group=0 -c . | docker import \
    -c 'CMD ["/bin/sleep", "3600"]' \
    -c 'USER 65534' -c 'WORKDIR /etc/app' -c 'LABEL org.infraspec.recipe=1' - infraspec-test/noshell:1 >/dev/null
  echo "built infraspec-test/noshell:1"
fi

if ! have infraspec-test/debian:12 4; then
  root="$work/debian"
  debootstrap --variant=minbase --include=nginx-light,procps,iproute2,openssh-server,sudo bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; exit 1; }
  rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
  # The SSH tests' users, inside the image only (never on the machine that
  # runs the tests): one whose sudo needs no password and is logged, so the
  # tests can count escalations, and one with a known password that sudo asks for.
  chroot "$root" useradd --create-home --shell /bin/sh infraspec-ssh
  chroot "$root" usermod -p '*' infraspec-ssh
  chroot "$root" useradd --create-home --shell /bin/sh infraspec-sshpw
  echo 'infraspec-sshpw:infraspec-test-pw' | chroot "$root" chpasswd
  cat > "$root/etc/sudoers.d/infraspec-ssh" <<'SUDO'
Defaults:infraspec-ssh logfile=/var/log/infraspec-sudo.log, !syslog
Defaults:infraspec-sshpw !lecture, passwd_tries=1
infraspec-ssh ALL=(ALL) NOPASSWD: ALL
infraspec-sshpw ALL=(ALL) ALL
SUDO
  chmod 0440 "$root/etc/sudoers.d/infraspec-ssh"
  mkdir -p "$root/run/sshd"
  tar -C "$root" -c . | docker import \
    -c 'CMD ["nginx", "-g", "daemon off;"]' \
    -c 'EXPOSE 80' \
    -c 'ENV APP_ENV=test' \
    -c 'LABEL org.opencontainers.image.title=infraspec-test-nginx' \
    -c 'LABEL org.infraspec.recipe=4' - infraspec-test/debian:12 >/dev/null
  echo "built infraspec-test/debian:12"
fi
