#!/usr/bin/env bash
# A private sshd on loopback for ogai's ssh launcher tests.
#
#   scripts/testenv/sshd.sh start DIR   # prints `export OGAI_TEST_SSH_CONFIG=DIR/ssh_config`
#   scripts/testenv/sshd.sh stop DIR
#
# Everything lives in DIR: host key, a client key, authorized_keys, sshd_config, the pid file
# and an ssh_config for clients (`ssh -F DIR/ssh_config 127.0.0.2 ...`). sshd listens on
# 127.0.0.1-127.0.0.4 on a free port (never 22); the "hosts" 127.0.0.2, 127.0.0.3, ... are
# all this machine. Needs root (sshd as root, logins as the current user via the key).
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2; exit 2
fi
SSHD=/usr/sbin/sshd
. "$(dirname "${BASH_SOURCE[0]}")/sshd_common.sh"

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

case "$cmd" in
start)
  if [ ! -x "$SSHD" ]; then echo "sshd.sh: $SSHD not found (apt-get install openssh-server)" >&2; exit 1; fi
  mkdir -p "$dir"; chmod 700 "$dir"
  dir="$(cd "$dir" && pwd)"
  "$0" stop "$dir"              # a second start replaces the first, never leaks it
  make_ssh_keys "$dir"
  port="$(free_port)"
  write_sshd_config "$dir/sshd_config" "$dir" "$dir/sshd.pid" "$port" 127.0.0.1 127.0.0.2 127.0.0.3 127.0.0.4
  cat > "$dir/ssh_config" <<CFG
Host *
  Port $port
  User $(id -un)
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
CFG
  "$SSHD" -f "$dir/sshd_config" -E "$dir/sshd.log"
  # Wait until it accepts a login (bounded: 50 x 0.1 s).
  for _ in $(seq 50); do
    if ssh -F "$dir/ssh_config" 127.0.0.2 true 2>/dev/null; then
      echo "export OGAI_TEST_SSH_CONFIG=$dir/ssh_config"
      exit 0
    fi
    sleep 0.1
  done
  echo "sshd.sh: sshd did not accept a login on 127.0.0.2:$port; see $dir/sshd.log" >&2
  cat "$dir/sshd.log" >&2 || true
  exit 1
  ;;
stop)
  if [ -f "$dir/sshd.pid" ]; then
    pid="$(cat "$dir/sshd.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/sshd.pid"
  fi
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
