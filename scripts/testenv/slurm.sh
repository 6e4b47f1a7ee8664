#!/usr/bin/env bash
# A private single-node Slurm (munged + slurmctld + slurmd) for ogai's launcher tests.
#
#   scripts/testenv/slurm.sh start DIR   # prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/testenv/slurm.sh stop DIR
#
# Everything lives in DIR: a generated munge key and socket, slurm.conf, state and spool
# folders, logs and pid files. No systemd, nothing under /etc. The node is `localhost`
# (slurmd -N localhost) with 8 CPUs declared (config_overrides, so a small machine can run
# multi-rank jobs), ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, and the pmix MPI
# plugin available (`srun --mpi=pmix`). Client commands need SLURM_CONF=DIR/slurm.conf.
set -euo pipefail
cmd="${1:-}"; dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2; exit 2
fi

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

stop_pidfile() {  # stop_pidfile FILE: TERM the daemon named in FILE and wait (bounded) for it
  local f="$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

case "$cmd" in
start)
  for b in munged mungekey slurmctld slurmd sbatch srun scontrol; do
    if ! command -v "$b" >/dev/null && [ ! -x "/usr/sbin/$b" ]; then
      echo "slurm.sh: $b not found (apt-get install slurm-wlm munge)" >&2; exit 1
    fi
  done
  mkdir -p "$dir"; dir="$(cd "$dir" && pwd)"
  "$0" stop "$dir"              # a second start replaces the first, never leaks it
  mkdir -p "$dir/munge" "$dir/ctld" "$dir/slurmd" "$dir/pmix"
  chmod 700 "$dir/munge"
  rm -f "$dir/munge/munge.key"
  /usr/sbin/mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null \
    || dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "$dir/munge/munge.key"
  /usr/sbin/munged --force --key-file="$dir/munge/munge.key" \
    --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  ctld_port="$(free_port)"; slurmd_port="$(free_port)"
  : > "$dir/plugstack.conf"
  cat > "$dir/slurm.conf" <<CFG
ClusterName=ogaitest
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/ctld
SlurmdSpoolDir=$dir/slurmd
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
MpiParams=ports=30000-30999
SlurmdParameters=config_overrides
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
InactiveLimit=0
KillWait=5
MinJobAge=30
SlurmctldTimeout=30
SlurmdTimeout=30
TmpFS=$dir/pmix
NodeName=localhost NodeAddr=127.0.0.1 CPUs=8 RealMemory=1000 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CFG
  export SLURM_CONF="$dir/slurm.conf"
  /usr/sbin/slurmctld -f "$SLURM_CONF" -i
  /usr/sbin/slurmd -f "$SLURM_CONF" -N localhost
  # Wait (bounded: 100 x 0.1 s) until the node is idle and takes jobs.
  for _ in $(seq 100); do
    state="$(sinfo -h -n localhost -o %t 2>/dev/null || true)"
    if [ "$state" = "idle" ]; then
      echo "export SLURM_CONF=$dir/slurm.conf"
      exit 0
    fi
    sleep 0.1
  done
  echo "slurm.sh: the node did not become idle (state: '${state:-?}'); logs in $dir" >&2
  tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" >&2 || true
  exit 1
  ;;
stop)
  [ -d "$dir" ] || exit 0
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/slurm.conf" ]; then
    SLURM_CONF="$dir/slurm.conf" scancel --user="$(id -un)" 2>/dev/null || true
  fi
  stop_pidfile "$dir/slurmd.pid"
  stop_pidfile "$dir/slurmctld.pid"
  stop_pidfile "$dir/munge/munged.pid"
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
