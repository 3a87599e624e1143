#!/usr/bin/env bash
# cluster.sh - a real one-node Slurm cluster for the job tests (munge + slurmctld + slurmd),
# configured under a private folder; follows SYSTEMS.md, with job credentials that expire after
# 5 s (AuthInfo=cred_expire=5), which is also how long a requeued job waits before it may start
# again: releasing it earlier races with the revoked credential of its first run. Source it, then:
#   slurm_up DIR NCPUS   start (exports SLURM_CONF; sets SLURM_PIDS)
#   slurm_down           stop exactly the daemons it started
slurm_up() {
  local dir=$1 cpus=$2 host mem
  host=$(hostname -s)
  mem=$(awk '/MemTotal/ { print int($2 / 1024 / 2) }' /proc/meminfo)
  mkdir -p "$dir"/{state,spool,log}
  SLURM_PIDS=()
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    [ -f /etc/munge/munge.key ] || { echo "no /etc/munge/munge.key" >&2; return 1; }
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    runuser -u munge -- /usr/sbin/munged || return 1
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    SLURM_MUNGE_STARTED=1
  fi
  cat >"$dir/slurm.conf" <<CONF
ClusterName=maftest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=5
CryptoType=crypto/munge
MpiDefault=pmix
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
MinJobAge=300
SlurmdParameters=config_overrides
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -D -i -f "$SLURM_CONF" >"$dir/log/ctld.out" 2>&1 &
  SLURM_PIDS+=($!)
  /usr/sbin/slurmd -D -f "$SLURM_CONF" >"$dir/log/d.out" 2>&1 &
  SLURM_PIDS+=($!)
  for _ in $(seq 100); do
    [ "$(sinfo -h -N -o %t 2>/dev/null)" = idle ] && return 0
    sleep 0.2
  done
  echo "slurm did not come up:" >&2
  tail -5 "$dir"/log/*.log >&2
  return 1
}
slurm_down() {
  for p in "${SLURM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${SLURM_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  SLURM_PIDS=()
  # munged daemonises: stop it by its pid file, and only if this script started it
  if [ -n "${SLURM_MUNGE_STARTED:-}" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null
    SLURM_MUNGE_STARTED=
  fi
}
