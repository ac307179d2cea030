# Shared settings and helpers of the g5kpure testbed scripts (sourced by up.sh and down.sh).
# shellcheck shell=bash

TESTBED_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$TESTBED_DIR/../.." && pwd)"
# Generated state (keys, testbed.json read by tests/conftest.py): a gitignored directory of the clone.
STATE="${G5KPURE_TESTBED_STATE:-$REPO_DIR/.testbed}"
# Pidfiles of the daemons the testbed starts itself (machine-wide, like the daemons).
RUN=/run/g5kpure-testbed
LOGS="$STATE/log"

# The fake OAR site: two clusters of four nodes, 2 cpus x 2 cores each (32 resources).
OAR_SITE=rennes
CLUSTERS="paravance:4 parasilo:4"
CPUS_PER_NODE=2
CORES_PER_CPU=2
OAR_CONF=/etc/oar/oar.conf
OAR_DB_PASSWORD=g5kpure-oar
OAR_DB_RO_PASSWORD=g5kpure-oar-ro
API_PORT=6668

# The fake frontends: one sshd on 127.0.20.x:2222 answers for every reachable frontend name; the names in
# DEAD_FRONTENDS resolve to an address where nothing listens (connection refused).
FRONTEND_PORT=2222
FRONTEND_DOMAIN=frontend.g5kpure.test
LIVE_FRONTENDS="rennes:127.0.20.1 nancy:127.0.20.2 lyon:127.0.20.3"
DEAD_FRONTENDS="lille:127.0.20.9"
# Frontend names served by a second sshd whose OAR user commands are Debian trixie's OAR 2.6.1 (as Grid'5000's
# 2.5.10, oarstat format 3), talking to the same 2.5.9 server: see oar26.sh. Not among the live frontends.
OAR26_FRONTENDS="grenoble:127.0.20.4"
OAR26_PREFIX=/opt/g5kpure-oar26
OAR26_APT=$OAR26_PREFIX.apt
OAR26_SUITE=trixie
OAR26_PACKAGES="liboar-perl oar-common oar-user"
TEST_USER=alice
OTHER_USER=bob
# A third user for tests that must not share OAR's per-user limits (2 waiting reservations) with other tests.
SPARE_USER=carol

HOSTS_BEGIN="# BEGIN G5KPURE-TESTBED"
HOSTS_END="# END G5KPURE-TESTBED"

T_START_MS=$(( ${EPOCHREALTIME/./} / 1000 ))
elapsed_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 - T_START_MS )); }
log() { local ms; ms=$(elapsed_ms); printf '[testbed %3d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"; }
die() { log "ERROR: $*"; exit 1; }
set -o errtrace
trap 'log "ERROR: command failed (exit $?) at ${BASH_SOURCE[0]##*/} line $LINENO: $BASH_COMMAND"' ERR

require_root() {
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then exec sudo -n -E "$0" "$@"; fi
        die "the testbed installs packages and starts daemons: run it as root"
    fi
}

# "cluster index fqdn ip" for every fake node.
node_table() {
    local ci=0 entry cluster count i
    for entry in $CLUSTERS; do
        cluster=${entry%%:*}; count=${entry##*:}
        for i in $(seq 1 "$count"); do
            echo "$cluster $i $cluster-$i.$OAR_SITE.grid5000.fr 127.0.$((10 + ci)).$i"
        done
        ci=$((ci + 1))
    done
}

# "name ip" for every frontend name (live, dead and OAR 2.6.1).
frontend_table() {
    local entry
    for entry in $LIVE_FRONTENDS $DEAD_FRONTENDS $OAR26_FRONTENDS; do echo "${entry%%:*} ${entry##*:}"; done
}

alive_pidfile() {  # alive_pidfile FILE: true when FILE names a running process
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# Run one of the testbed's sshds from this checkout's configuration (read on stdin, kept in DIR/sshd_config). The
# sshds are machine-wide (pidfiles in $RUN) while host keys live in each checkout: the configuration a running sshd
# was started with is kept beside its pidfile, and a sshd started with another one (another checkout's host key,
# changed options) is restarted with this one.
run_sshd() {  # run_sshd LABEL DIR PIDFILE LOGFILE < CONFIG
    local label="$1" dir="$2" pidfile="$3" logfile="$4" tmp
    tmp=$(mktemp)
    cat > "$tmp"
    if cmp -s "$tmp" "$dir/sshd_config"; then rm -f "$tmp"; else mv "$tmp" "$dir/sshd_config"; fi
    /usr/sbin/sshd -t -f "$dir/sshd_config" || die "invalid $label configuration"
    if alive_pidfile "$pidfile" && ! cmp -s "$dir/sshd_config" "$pidfile.config"; then
        stop_pidfile "$pidfile" "$label (started with another configuration)"
    fi
    if ! alive_pidfile "$pidfile"; then
        log "starting the $label"
        mkdir -p /run/sshd
        /usr/sbin/sshd -f "$dir/sshd_config" -E "$logfile"
        for _ in $(seq 1 50); do alive_pidfile "$pidfile" && break; sleep 0.1; done
        alive_pidfile "$pidfile" || die "the $label did not start (see $logfile)"
        cp "$dir/sshd_config" "$pidfile.config"
    fi
}

# Stop the daemon named by a pidfile: TERM its process group, then KILL after a grace period.
# (The Debian init scripts of OAR cannot stop their daemons without systemd.)
stop_pidfile() {  # stop_pidfile FILE LABEL
    local file="$1" label="$2" pid pgid target
    alive_pidfile "$file" || { rm -f "$file"; return 0; }
    pid=$(cat "$file")
    pgid=$(ps -o pgid= -p "$pid" | tr -d ' ')
    target="-$pgid"
    [ "$pgid" = "$(ps -o pgid= -p $$ | tr -d ' ')" ] && target="$pid"
    log "stopping $label (pid $pid)"
    kill -TERM -- "$target" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "$target" 2>/dev/null
    rm -f "$file"
}

# Kill, by pid, every process owned by one of the given users (the testbed's own accounts).
kill_user_processes() {
    local u pids
    for u in "$@"; do
        id "$u" >/dev/null 2>&1 || continue
        pids=$(ps -o pid= -u "$u" 2>/dev/null | tr "\n" " " || true)
        [ -n "${pids// /}" ] || continue
        log "stopping processes of $u: $pids"
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    done
}

pg_cluster_id() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $1 " " $2}'; }
pg_online() { pg_lsclusters -h 2>/dev/null | awk 'NR==1 {print $4}' | grep -q online; }
