#!/usr/bin/env bash
# Prepares this machine for the SSH tests (run as root; .ci/run does it):
# the packages, a test user whose shell is /bin/sh with a NOPASSWD sudo rule
# that logs every sudo call (so the tests can count escalations), and a second
# user with a password whose sudo asks for it.
set -euo pipefail
missing=()
for pkg in openssh-server openssh-client sudo; do
  dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
id infraspec-ssh >/dev/null 2>&1 || useradd --create-home --shell /bin/sh infraspec-ssh
# No password, but not locked: sshd without PAM refuses locked accounts.
usermod -p '*' infraspec-ssh
# A second user with a known password, whose sudo asks for it: for password
# authentication and for sudo with INFRASPEC_SUDO_PASSWORD.
id infraspec-sshpw >/dev/null 2>&1 || useradd --create-home --shell /bin/sh infraspec-sshpw
echo 'infraspec-sshpw:infraspec-test-pw' | chpasswd
cat > /etc/sudoers.d/infraspec-ssh <<'SUDO'
Defaults:infraspec-ssh logfile=/var/log/infraspec-sudo.log, !syslog
Defaults:infraspec-sshpw !lecture, passwd_tries=1
infraspec-ssh ALL=(ALL) NOPASSWD: ALL
infraspec-sshpw ALL=(ALL) ALL
SUDO
chmod 0440 /etc/sudoers.d/infraspec-ssh
visudo -cf /etc/sudoers.d/infraspec-ssh >/dev/null
mkdir -p /run/sshd
chmod 0755 /run/sshd
