# Sourced by sshd.sh (loopback) and netns.sh (namespace nodes): what every test sshd shares.

# A host key, a client key and authorized_keys in DIR (replacing any old ones).
make_ssh_keys() {
  local dir="$1"
  mkdir -p /run/sshd  # sshd's privilege-separation directory
  rm -f "$dir"/host_ed25519* "$dir"/id_ed25519*
  ssh-keygen -q -t ed25519 -N '' -f "$dir/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -f "$dir/id_ed25519"
  cp "$dir/id_ed25519.pub" "$dir/authorized_keys"; chmod 600 "$dir/authorized_keys"
}

# write_sshd_config FILE DIR PIDFILE PORT ADDR...: key-only root logins with DIR's keys, on
# PORT at each ADDR, many sessions at once (the tests start ranks in parallel), quiet logs.
write_sshd_config() {
  local file="$1" dir="$2" pidfile="$3" port="$4"; shift 4
  {
    echo "Port $port"
    for a in "$@"; do echo "ListenAddress $a"; done
    cat <<CFG
HostKey $dir/host_ed25519
PidFile $pidfile
AuthorizedKeysFile $dir/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PrintMotd no
MaxStartups 100:30:200
MaxSessions 100
LogLevel ERROR
CFG
  } > "$file"
}
