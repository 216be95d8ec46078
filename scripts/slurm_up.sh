#!/usr/bin/env bash
# Bring up a real single-node SLURM cluster on this machine, for the tests (tests/test_slurm.py).
#
#     bash scripts/slurm_up.sh            # then: export SLURM_CONF=/tmp/book-slurm/slurm.conf
#     bash scripts/slurm_down.sh          # stops what this script started, by PID
#
# Installs Debian's slurmctld, slurmd, slurm-client and munge when missing (needs root and apt;
# about 13 MB installed), then starts munged, slurmctld and slurmd by hand (no systemd) with a
# minimal private configuration in $BOOK_SLURM_DIR (default /tmp/book-slurm): one node with this
# machine's CPUs and memory, one partition "debug", ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none, no accounting. Nothing under /etc/slurm is touched: clients find the
# cluster through SLURM_CONF=$BOOK_SLURM_DIR/slurm.conf.
#
# Exit status: 0 = the cluster is up and its node is idle; 2 = it cannot be brought up here (the
# reason is printed on one line starting with "slurm_up: cannot").
set -uo pipefail

DIR="${BOOK_SLURM_DIR:-/tmp/book-slurm}"
CONF="$DIR/slurm.conf"
PACKAGES="slurmctld slurmd slurm-client munge"
cannot() { echo "slurm_up: cannot bring SLURM up: $*" >&2; exit 2; }
have() { command -v "$1" >/dev/null 2>&1; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
export PATH="$PATH:/usr/sbin:/sbin"

mkdir -p "$DIR/state" "$DIR/spool" || cannot "cannot create $DIR"

# ---- packages ---------------------------------------------------------------------------------
if ! have slurmctld || ! have slurmd || ! have sbatch || ! have munged; then
  [ "$(id -u)" -eq 0 ] || cannot "packages missing ($PACKAGES) and not root"
  have apt-get || cannot "packages missing ($PACKAGES) and no apt-get"
  t0=$(date +%s)
  echo "slurm_up: installing $PACKAGES (log: $DIR/apt.log)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES; } \
    >"$DIR/apt.log" 2>&1 || cannot "apt-get install failed (see $DIR/apt.log)"
  echo "slurm_up: installed in $(( $(date +%s) - t0 )) s"
fi
[ "$(id -u)" -eq 0 ] || cannot "slurmd must run as root (it starts jobs as their user)"

# ---- already up? ------------------------------------------------------------------------------
if alive "$DIR/slurmctld.pid" && alive "$DIR/slurmd.pid" && SLURM_CONF="$CONF" sinfo -h >/dev/null 2>&1; then
  echo "slurm_up: already up ($CONF)"
  echo "export SLURM_CONF=$CONF"
  exit 0
fi

# ---- munge ------------------------------------------------------------------------------------
t0=$(date +%s)
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge && mungekey --create --keyfile /etc/munge/munge.key >/dev/null 2>&1 \
      || cannot "no /etc/munge/munge.key and mungekey failed"
  fi
  chown munge:munge /etc/munge/munge.key 2>/dev/null; chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/lib/munge /var/log/munge
  chown munge:munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
  chmod 755 /run/munge
  if id munge >/dev/null 2>&1 && have runuser; then
    runuser -u munge -- munged --pid-file=/run/munge/munged.pid || cannot "munged did not start (see /var/log/munge/munged.log)"
  else
    munged --force --pid-file=/run/munge/munged.pid || cannot "munged did not start"
  fi
  cp /run/munge/munged.pid "$DIR/munged.pid"  # we started it, so slurm_down.sh stops it
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || cannot "munged started but does not answer"
fi

# ---- slurm.conf -------------------------------------------------------------------------------
HOST="$(hostname -s)"
CPUS="$(nproc --all)"
MEM_MB=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))
# A fresh job id range per bring-up, so that job ids recorded in a run cache by an earlier cluster
# are unlikely to name a job of this one.
FIRST_ID=$(( $(date +%s) % 50000000 + 1000 ))
cat >"$CONF" <<EOF
# Written by scripts/slurm_up.sh: a single-node cluster for tests. Not for production.
ClusterName=book
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=${BOOK_SLURMCTLD_PORT:-6817}
SlurmdPort=${BOOK_SLURMD_PORT:-6818}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=300
KillWait=5
FirstJobId=$FIRST_ID
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# ---- daemons ----------------------------------------------------------------------------------
export SLURM_CONF="$CONF"
rm -f "$DIR/slurmctld.pid" "$DIR/slurmd.pid"
slurmctld -c || cannot "slurmctld did not start (see $DIR/slurmctld.log)"
slurmd -c || cannot "slurmd did not start (see $DIR/slurmd.log)"
state=""
for _ in $(seq 100); do
  state="$(sinfo -h -o %T 2>/dev/null | head -1)"
  [ "$state" = idle ] && break
  sleep 0.3
done
if [ "$state" != idle ]; then
  tail -5 "$DIR/slurmctld.log" "$DIR/slurmd.log" >&2 2>/dev/null
  bash "$(dirname "$0")/slurm_down.sh" >/dev/null 2>&1
  cannot "the node did not become idle (state: '${state:-no answer}'; logs in $DIR)"
fi
echo "slurm_up: up in $(( $(date +%s) - t0 )) s: node $HOST, $CPUS CPUs, $MEM_MB MB, partition debug ($CONF)"
echo "export SLURM_CONF=$CONF"
