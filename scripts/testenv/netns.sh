#!/usr/bin/env bash
# A test cluster of network namespaces for ogai's multi-node tests.
#
#   scripts/testenv/netns.sh start DIR [N]   # prints `export OGAI_TEST_NETNS=DIR`
#   scripts/testenv/netns.sh stop DIR        # idempotent; also after a half-done start
#
# N "nodes" (default 4), each a network namespace with loopback up and one veth (eth0) on a
# bridge in the root namespace, an address 10.231.S.i/24 (S from a hash of DIR, so two
# clusters rarely share a subnet; i = 1..N), its own host name (a UTS namespace: ogai-nI-TAG)
# and an sshd on its eth0 port 22 that logs in the current user with a generated key (the
# key/config approach of sshd.sh). The bridge has 10.231.S.254: the root namespace, where
# ogai-run and the tests run, is the cluster's head node. Nodes share this kernel, /dev/shm
# and the process table, but not the network: traffic between nodes crosses the veths.
#
# Files in DIR the tests use:
#   hosts        one line per node: address name namespace host-side-veth
#   ssh_config   `ssh -F DIR/ssh_config 10.231.S.i` (or the node's name) reaches node i
#   head         the bridge's address (the head node as the nodes see it)
# A test takes a node's link down with `ip link set <host-side-veth> down`.
# Needs root and iproute2 (ip netns); without them `start` says why and exits 1.
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"; n="${3:-4}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start DIR [N] | stop DIR" >&2; exit 2
fi
SSHD=/usr/sbin/sshd
. "$(dirname "${BASH_SOURCE[0]}")/sshd_common.sh"

stop_cluster() {
  local d="$1"
  [ -f "$d/state" ] || return 0
  # state: lines "ns NAME", "link NAME", "pid FILE", written as things are made.
  while read -r kind name; do
    case "$kind" in
    pid)
      if [ -f "$name" ]; then
        pid="$(cat "$name" 2>/dev/null || true)"
        if [ -n "$pid" ]; then
          kill "$pid" 2>/dev/null || true
          for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
          kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$name"
      fi ;;
    esac
  done < "$d/state"
  while read -r kind name; do
    case "$kind" in
    ns)
      # Whatever a test left running inside the node goes with it.
      for p in $(ip netns pids "$name" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
      ip netns del "$name" 2>/dev/null || true ;;
    link) ip link del "$name" 2>/dev/null || true ;;
    esac
  done < "$d/state"
  rm -f "$d/state" "$d/hosts" "$d/head"
}

case "$cmd" in
start)
  if [ "$(id -u)" != 0 ]; then echo "netns.sh: needs root (ip netns, sshd); running as $(id -un)" >&2; exit 1; fi
  if ! command -v ip >/dev/null; then echo "netns.sh: ip (iproute2) not found (apt-get install iproute2)" >&2; exit 1; fi
  if ! command -v unshare >/dev/null; then echo "netns.sh: unshare (util-linux) not found" >&2; exit 1; fi
  if [ ! -x "$SSHD" ]; then echo "netns.sh: $SSHD not found (apt-get install openssh-server)" >&2; exit 1; fi
  case "$n" in ''|*[!0-9]*) echo "netns.sh: N must be a number of nodes (1-32), not '$n'" >&2; exit 2 ;; esac
  if [ "$n" -lt 1 ] || [ "$n" -gt 32 ]; then echo "netns.sh: N must be 1-32, not $n" >&2; exit 2; fi
  mkdir -p "$dir"; chmod 700 "$dir"
  dir="$(cd "$dir" && pwd)"
  "$0" stop "$dir"  # a second start replaces the first, never leaks it
  hash="$(printf %s "$dir" | md5sum)"
  tag="${hash:0:4}"
  subnet="10.231.$(( 0x${hash:4:2} % 250 ))"
  br="ogb$tag"
  : > "$dir/state"
  trap 'echo "netns.sh: start failed; undoing" >&2; stop_cluster "$dir"' ERR
  if ip link show "$br" >/dev/null 2>&1; then
    echo "netns.sh: bridge $br exists already (another cluster with the same DIR hash?)" >&2; exit 1
  fi
  ip link add "$br" type bridge
  echo "link $br" >> "$dir/state"
  ip addr add "$subnet.254/24" dev "$br"
  ip link set "$br" up
  make_ssh_keys "$dir"
  cat > "$dir/ssh_config" <<CFG
Host *
  Port 22
  User $(id -un)
  IdentityFile $dir/id_ed25519
  IdentitiesOnly yes
  BatchMode yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
  ConnectTimeout 5
CFG
  : > "$dir/hosts.tmp"
  for i in $(seq "$n"); do
    ns="ogai-$tag-n$i"; name="ogai-n$i-$tag"; hv="ogv${tag}h$i"; addr="$subnet.$i"
    ip netns add "$ns"
    echo "ns $ns" >> "$dir/state"
    ip link add "$hv" type veth peer name "ogv${tag}n$i"
    echo "link $hv" >> "$dir/state"
    ip link set "ogv${tag}n$i" netns "$ns"
    ip -n "$ns" link set "ogv${tag}n$i" name eth0
    ip -n "$ns" addr add "$addr/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
    ip -n "$ns" route add default via "$subnet.254"
    ip link set "$hv" master "$br"
    ip link set "$hv" up
    write_sshd_config "$dir/sshd_config.$i" "$dir" "$dir/sshd.$i.pid" 22 "$addr"
    echo "pid $dir/sshd.$i.pid" >> "$dir/state"
    # sshd daemonizes inside the node's network and UTS namespaces; its logins inherit both.
    ip netns exec "$ns" unshare --uts -- sh -c "hostname $name && exec $SSHD -f $dir/sshd_config.$i -E $dir/sshd.$i.log"
    printf 'Host %s\n  HostName %s\n' "$name" "$addr" >> "$dir/ssh_config.hosts"
    echo "$addr $name $ns $hv" >> "$dir/hosts.tmp"
  done
  cat "$dir/ssh_config.hosts" "$dir/ssh_config" > "$dir/ssh_config.new" && mv "$dir/ssh_config.new" "$dir/ssh_config"
  rm -f "$dir/ssh_config.hosts"
  # Wait until every node accepts a login and answers with its own name (bounded).
  while read -r addr name _ _; do
    ok=0
    for _ in $(seq 50); do
      if [ "$(ssh -F "$dir/ssh_config" "$addr" hostname 2>/dev/null)" = "$name" ]; then ok=1; break; fi
      sleep 0.1
    done
    if [ "$ok" != 1 ]; then
      echo "netns.sh: node $name ($addr) did not accept a login; see $dir/sshd.*.log" >&2
      cat "$dir"/sshd.*.log >&2 2>/dev/null || true
      false
    fi
  done < "$dir/hosts.tmp"
  mv "$dir/hosts.tmp" "$dir/hosts"
  echo "$subnet.254" > "$dir/head"
  trap - ERR
  echo "export OGAI_TEST_NETNS=$dir"
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir="$(cd "$dir" && pwd)"
  stop_cluster "$dir"
  ;;
*)
  echo "usage: $0 start DIR [N] | stop DIR" >&2; exit 2 ;;
esac
