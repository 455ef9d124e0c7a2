#!/usr/bin/env bash
# A single-node SLURM on this machine, for the integration tests (pytest -m slurm).
#
# Usage: tests/slurm/local_cluster.sh start|stop|status [DIR]
#
#   start   install slurm-wlm and munge when missing (apt-get, root only), write
#           a slurm.conf under DIR and start munged, slurmctld and slurmd from it;
#   stop    cancel the cluster's jobs and stop the daemons that `start` started
#           (by the PIDs it recorded; nothing else is touched);
#   status  say whether the cluster answers, with its nodes and partitions.
#
# DIR (default: $PLENEXP_SLURM_DIR, else ${TMPDIR:-/tmp}/plenexp-slurm) holds the
# configuration, state, spool, logs and PID files. Client commands find the
# cluster through SLURM_CONF: `source DIR/env.sh` sets it. The node is this
# machine (`slurmd -C`) with Feature=genoa, in partitions `genoa` (the default)
# and `gpu` (the same node with one GPU declared, so GPU submit scripts can be
# checked with `sbatch --test-only`; nothing runs on it). Daemons run as root.
# Ports: $PLENEXP_SLURM_PORT (slurmctld) and the next one (slurmd); by default
# the first free pair from 6817, so clusters in different directories coexist.
set -euo pipefail

action=${1:-status}
dir=${2:-${PLENEXP_SLURM_DIR:-${TMPDIR:-/tmp}/plenexp-slurm}}
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

die() { echo "local_cluster.sh: $*" >&2; exit 1; }

alive() {  # alive NAME: the daemon recorded as NAME still runs under its PID
    local pid
    pid=$(cat "$dir/$1.started-pid" 2>/dev/null) || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

answers() { timeout 10 scontrol ping 2>/dev/null | grep -q "is UP"; }

listening() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

choose_port() {  # slurmctld's port: given, this directory's last one, else free
    if [ -n "${PLENEXP_SLURM_PORT:-}" ]; then
        port=$PLENEXP_SLURM_PORT
    elif [ -f "$conf" ] && grep -q '^SlurmctldPort=' "$conf"; then
        port=$(sed -n 's/^SlurmctldPort=//p' "$conf")
    else
        for port in $(seq 6817 2 6917); do
            listening "$port" || listening $((port + 1)) || return 0
        done
        die "no free pair of ports in 6817-6918 (set PLENEXP_SLURM_PORT)"
    fi
}

install_packages() {
    command -v slurmctld >/dev/null && command -v munged >/dev/null && return 0
    [ "$(id -u)" -eq 0 ] || die "slurm-wlm and munge are missing; install them as root"
    command -v apt-get >/dev/null || die "slurm-wlm and munge are missing and there is no apt-get"
    echo "installing slurm-wlm and munge (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        slurm-wlm munge >"$dir/apt.log" 2>&1 \
        || { apt-get update >>"$dir/apt.log" 2>&1 \
             && DEBIAN_FRONTEND=noninteractive apt-get install -y \
                --no-install-recommends slurm-wlm munge >>"$dir/apt.log" 2>&1; } \
        || die "apt-get install slurm-wlm munge failed (see $dir/apt.log)"
}

write_config() {
    local node host
    host=$(hostname -s)
    # slurmd -C describes this machine: NodeName=... CPUs=... RealMemory=...
    node=$(slurmd -C | head -n 1)
    node=${node/NodeName=* CPUs/NodeName=$host CPUs}
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    cat >"$conf" <<EOF
# Written by tests/slurm/local_cluster.sh: a single-node test cluster.
ClusterName=plenexp-test
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job may start again this many seconds later (120 by
# default: the requeue test would wait two minutes)
AuthInfo=socket=$dir/munge.socket,cred_expire=10
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
GresTypes=gpu
JobRequeue=1
ReturnToService=2
MpiDefault=none
MailProg=/bin/true
# short waits: tests watch jobs being killed and requeued
KillWait=5
OverTimeLimit=0
MinJobAge=3600
MessageTimeout=20
SlurmdTimeout=60
InactiveLimit=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
$node Feature=genoa Gres=gpu:1 State=UNKNOWN
PartitionName=genoa Nodes=$host Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$host MaxTime=INFINITE State=UP
EOF
    # one GPU declared by count only: enough for the scheduler to accept
    # --gres gpu:1 (sbatch --test-only); there is no device behind it
    cat >"$dir/gres.conf" <<EOF
AutoDetect=off
NodeName=$host Name=gpu File=/dev/null
EOF
    printf 'export SLURM_CONF=%q\n' "$conf" >"$dir/env.sh"
}

start_daemon() {  # start_daemon NAME COMMAND...: run in the foreground, record its PID
    local name=$1
    shift
    nohup "$@" >"$dir/log/$name.out" 2>&1 &
    echo $! >"$dir/$name.started-pid"
}

start() {
    mkdir -p "$dir"
    if alive slurmctld && answers; then
        echo "already running (SLURM_CONF=$conf)"
        return 0
    fi
    install_packages
    choose_port
    write_config
    if ! alive munged; then
        local key=/etc/munge/munge.key
        if [ ! -r "$key" ]; then
            key="$dir/munge.key"
            [ -s "$key" ] || { command -v mungekey >/dev/null \
                && mungekey --create --keyfile="$key" >/dev/null 2>&1; } \
                || dd if=/dev/urandom of="$key" bs=1 count=1024 2>/dev/null
            chmod 600 "$key"
        fi
        start_daemon munged munged --foreground --force --socket="$dir/munge.socket" \
            --key-file="$key" --pid-file="$dir/munged.pid" \
            --log-file="$dir/log/munged.log" --seed-file="$dir/munged.seed"
        for _ in $(seq 50); do [ -S "$dir/munge.socket" ] && break; sleep 0.1; done
        [ -S "$dir/munge.socket" ] || die "munged did not start (see $dir/log/munged.out)"
    fi
    alive slurmctld || start_daemon slurmctld slurmctld -D -i -f "$conf"
    alive slurmd || start_daemon slurmd slurmd -D -f "$conf"
    for _ in $(seq 60); do
        if answers && sinfo -h -N -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            echo "single-node SLURM is up: source $dir/env.sh (SLURM_CONF=$conf)"
            return 0
        fi
        sleep 0.5
    done
    die "the cluster did not come up (logs in $dir/log)"
}

stop() {
    if alive slurmctld; then
        timeout 10 scancel --full --quiet --partition=genoa,gpu 2>/dev/null || true
        sleep 1
    fi
    local name pid
    for name in slurmd slurmctld munged; do
        alive "$name" || { rm -f "$dir/$name.started-pid"; continue; }
        pid=$(cat "$dir/$name.started-pid")
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
        rm -f "$dir/$name.started-pid"
        echo "stopped $name ($pid)"
    done
}

status() {
    [ -f "$conf" ] || { echo "no cluster configured in $dir"; return 3; }
    if answers; then
        echo "up (SLURM_CONF=$conf)"
        sinfo
        return 0
    fi
    echo "not answering (SLURM_CONF=$conf)"
    return 3
}

case "$action" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) die "unknown action '$action' (start, stop or status)" ;;
esac
