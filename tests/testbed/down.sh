#!/usr/bin/env bash
# Stop everything the testbed started (frontend sshds, apache2, OAR server and jobs, oar-node sshd, PostgreSQL).
# Packages, users, keys and the OAR database stay, so the next `make testbed` is quick.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/oar26.sh"
require_root "$@"

rm -f "$RUN/up.stamp"

# The frontend sshd: the listener and the per-connection processes it forked.
if alive_pidfile "$RUN/frontend-sshd.pid"; then
    for child in $(pgrep -P "$(cat "$RUN/frontend-sshd.pid")" || true); do kill -TERM "$child" 2>/dev/null || true; done
fi
stop_pidfile "$RUN/frontend-sshd.pid" "frontend sshd"
oar26_stop
# The additions of tests/testbed/remote.sh: the scale sshd and the job key agent (which empties its block).
stop_pidfile "$RUN/scale-sshd.pid" "scale sshd"
stop_pidfile "$RUN/oar-jobkeys.pid" "job key agent"

if alive_pidfile /var/run/apache2/apache2.pid; then
    log "stopping apache2"
    apache2ctl stop >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do alive_pidfile /var/run/apache2/apache2.pid || break; sleep 0.1; done
    stop_pidfile /var/run/apache2/apache2.pid "apache2 (still running)"
fi

# The OAR server before PostgreSQL: without its database Almighty loops on reconnecting.
stop_pidfile /var/run/oar-server.pid "OAR server (Almighty)"
stop_pidfile /var/run/oar-node_sshd.pid "oar-node sshd"
# Job processes (oarexec and users' commands) run as oar and as the test users, outside those groups.
kill_user_processes oar "$TEST_USER" "$OTHER_USER" "$SPARE_USER"

if pg_online; then
    log "stopping PostgreSQL"
    # shellcheck disable=SC2046
    pg_ctlcluster $(pg_cluster_id) stop -m fast
fi
log "testbed down"
