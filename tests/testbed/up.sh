#!/usr/bin/env bash
# Install (if needed) and start the local OAR site and the fake frontends used by the integration tests.
# Idempotent; a second run only checks that everything answers. See tests/testbed/README.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/oar26.sh"
source "$(dirname "$0")/remote.sh"  # job keys on the nodes and the scale sshd (setup_remote)
require_root "$@"

PACKAGES="postgresql oar-common oar-server oar-server-pgsql oar-user oar-user-pgsql oar-node openssh-server
          libyaml-perl libyaml-syck-perl libxml-dumper-perl curl procps openssh-client
          oar-restful-api apache2 apache2-utils apache2-suexec-custom
          libcapture-tiny-perl"

signature() {
    { cat "$TESTBED_DIR/lib.sh" "$TESTBED_DIR/oar26.sh" "$TESTBED_DIR/up.sh"; echo "$STATE"; cat "$STATE/keys/$TEST_USER.pub" 2>/dev/null || true; } | sha256sum | cut -d' ' -f1
}

install_packages() {
    local missing="" p
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    # Package scripts must not try to start daemons (no init system here): forbid it during the install.
    local own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; own_policy=1
    fi
    log "apt-get update"
    apt-get update -qq
    log "installing:$missing"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing > "$LOGS/apt.log" 2>&1 \
        || { tail -20 "$LOGS/apt.log"; die "apt-get install failed (full log: $LOGS/apt.log)"; }
    [ $own_policy = 0 ] || rm -f /usr/sbin/policy-rc.d
}

start_postgres() {
    local id
    id=$(pg_cluster_id)
    if [ -z "$id" ]; then
        local version; version=$(ls /usr/lib/postgresql | sort -n | tail -1)
        log "creating PostgreSQL cluster $version/main"
        pg_createcluster "$version" main >/dev/null
        id="$version main"
    fi
    if ! pg_online; then
        log "starting PostgreSQL $id"
        # shellcheck disable=SC2086
        pg_ctlcluster $id start
    fi
    for _ in $(seq 1 50); do runuser -u postgres -- psql -Atc 'select 1' >/dev/null 2>&1 && return 0; sleep 0.2; done
    die "PostgreSQL does not answer"
}

conf_set() {  # conf_set KEY RAW_VALUE: replace (or uncomment) the first KEY= line of oar.conf, else append
    if grep -qE "^#?[[:space:]]*$1=" "$OAR_CONF"; then
        sed -i -E "0,/^#?[[:space:]]*$1=.*/s||$1=$2|" "$OAR_CONF"
    else
        echo "$1=$2" >> "$OAR_CONF"
    fi
}

configure_oar() {
    conf_set DB_BASE_PASSWD "\"$OAR_DB_PASSWORD\""
    conf_set DB_BASE_PASSWD_RO "\"$OAR_DB_RO_PASSWORD\""
    conf_set LOG_LEVEL '"3"'
    conf_set WALLTIME_CHANGE_ENABLED '"yes"'
    conf_set WALLTIME_MAX_INCREASE '-1'
    # No cpuset/cgroup job manager: the eight fake nodes are one kernel and their cpusets would collide.
    sed -i -E 's/^(JOB_RESOURCE_MANAGER_PROPERTY_DB_FIELD=)/#\1/' "$OAR_CONF"
}

psql_oar() { runuser -u postgres -- psql -d oar -Atc "$1"; }

setup_database() {
    if runuser -u postgres -- psql -Atc "select 1 from pg_database where datname='oar'" | grep -q 1; then
        runuser -u postgres -- psql -qc "ALTER ROLE oar PASSWORD '$OAR_DB_PASSWORD'" \
            -c "ALTER ROLE oar_ro PASSWORD '$OAR_DB_RO_PASSWORD'" >/dev/null
    else
        log "creating the OAR database"
        oar-database --create --db-is-local -y > "$LOGS/oar-database.log" 2>&1 \
            || { cat "$LOGS/oar-database.log"; die "oar-database --create failed"; }
    fi
}

# Grid'5000's admission rules accept job types that stock OAR refuses, notably the origin=TOOL tag that
# execo and g5kpure add to every job: let the testbed accept them too.
allow_g5k_job_types() {
    runuser -u postgres -- psql -d oar -qAt >/dev/null <<'SQL'
UPDATE admission_rules
   SET rule = replace(rule, 'qr/^state=permissive$/,',
                      'qr/^state=permissive$/, qr/^origin=[\w.:-]+$/, qr/^monitor=.+$/,'
                      || ' qr/^(?:day|night|exotic|destructive|allow_classic_ssh)$/,')
 WHERE rule LIKE '%unknown job type%' AND rule NOT LIKE '%origin=%';
SQL
}

setup_hosts() {
    local tmp; tmp=$(mktemp /etc/hosts.g5kpure.XXXXXX)
    sed "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts > "$tmp"
    {
        echo "$HOSTS_BEGIN"
        node_table | while read -r cluster i fqdn ip; do echo "$ip $fqdn $cluster-$i"; done
        frontend_table | while read -r name ip; do echo "$ip $name.$FRONTEND_DOMAIN"; done
        echo "$HOSTS_END"
    } >> "$tmp"
    if cmp -s "$tmp" /etc/hosts; then rm -f "$tmp"; return 0; fi
    log "writing the fake node and frontend names into /etc/hosts"
    # /etc/hosts may be a bind mount (containers): rewrite it in place rather than renaming over it.
    cat "$tmp" > /etc/hosts
    rm -f "$tmp"
}

setup_users() {
    local u
    mkdir -p "$STATE/keys"
    chmod 700 "$STATE/keys"
    for u in $TEST_USER $OTHER_USER $SPARE_USER; do
        if ! id "$u" >/dev/null 2>&1; then
            log "creating user $u"
            useradd -m -s /bin/bash "$u"
        fi
        # A locked password ("!") makes sshd refuse key logins when PAM is off; "*" means "no password".
        [ "$(getent shadow "$u" | cut -d: -f2)" = "*" ] || usermod -p '*' "$u"
        [ -f "$STATE/keys/$u" ] || ssh-keygen -q -t ed25519 -N '' -C "$u@g5kpure-testbed" -f "$STATE/keys/$u"
        local home; home=$(getent passwd "$u" | cut -d: -f6)
        install -d -m 700 -o "$u" -g "$u" "$home/.ssh"
        install -m 600 -o "$u" -g "$u" "$STATE/keys/$u.pub" "$home/.ssh/authorized_keys"
    done
}

setup_node_sshd() {
    local f=/etc/oar/sshd_config tmp
    tmp=$(mktemp)
    sed "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" "$f" > "$tmp"
    {
        echo "$HOSTS_BEGIN"
        echo "ListenAddress 127.0.0.1"
        node_table | while read -r _ _ _ ip; do echo "ListenAddress $ip"; done
        echo "$HOSTS_END"
    } >> "$tmp"
    if ! cmp -s "$tmp" "$f"; then
        cat "$tmp" > "$f"
        stop_pidfile /var/run/oar-node_sshd.pid "oar-node sshd (configuration changed)"
    fi
    rm -f "$tmp"
    if ! alive_pidfile /var/run/oar-node_sshd.pid; then
        log "starting the oar-node sshd (port 6667)"
        mkdir -p /run/sshd
        /etc/init.d/oar-node start >/dev/null
    fi
    local first; first=$(node_table | awk 'NR == 1 {print $3}')
    runuser -u oar -- ssh -p 6667 -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 "$first" true \
        || die "user oar cannot reach $first:6667"
}

start_oar_server() {
    alive_pidfile /var/run/oar-server.pid && return 0
    log "starting the OAR server (Almighty)"
    /etc/init.d/oar-server start >/dev/null
    for _ in $(seq 1 50); do alive_pidfile /var/run/oar-server.pid && return 0; sleep 0.2; done
    die "the OAR server did not start (see /var/log/oar.log)"
}

setup_resources() {
    local props
    props=$(oarproperty -l)
    grep -qx host <<<"$props" || oarproperty -q -c -a host
    grep -qx cluster <<<"$props" || oarproperty -q -c -a cluster
    grep -qx cpu <<<"$props" || oarproperty -q -a cpu
    grep -qx core <<<"$props" || oarproperty -q -a core
    local known cpu core cluster i fqdn ip c k added=0
    known=$(psql_oar "select distinct network_address from resources")
    cpu=$(psql_oar "select coalesce(max(cpu), 0) from resources")
    core=$(psql_oar "select coalesce(max(core), 0) from resources")
    while read -r cluster i fqdn ip; do
        grep -qx "$fqdn" <<<"$known" && continue
        for c in $(seq 0 $((CPUS_PER_NODE - 1))); do
            cpu=$((cpu + 1))
            for k in $(seq 0 $((CORES_PER_CPU - 1))); do
                core=$((core + 1))
                oarnodesetting -a -h "$fqdn" -p host="$fqdn" -p cluster="$cluster" -p cpu=$cpu -p core=$core \
                    -p cpuset=$((c * CORES_PER_CPU + k)) -p deploy=YES >/dev/null
                added=$((added + 1))
            done
        done
    done < <(node_table)
    [ $added = 0 ] || log "added $added OAR resources"
}

setup_api() {
    local site=/etc/apache2/sites-available/g5kpure-oarapi.conf tmp changed=0
    tmp=$(mktemp)
    cat > "$tmp" <<EOF
# OAR REST API of the g5kpure testbed, on loopback only. oarapi.cgi runs as user oar through suexec.
#   /oarapi         believes the client's X-Remote-Ident header (test only!)
#   /oarapi-priv    HTTP basic authentication (users of /etc/oar/api-users)
#   /oarapi-public  anonymous
ServerName localhost
Listen 127.0.0.1:$API_PORT
<VirtualHost 127.0.0.1:$API_PORT>
  ErrorLog \${APACHE_LOG_DIR}/oarapi_error.log
  CustomLog \${APACHE_LOG_DIR}/oarapi_access.log combined
  SuexecUserGroup oar oar
  ScriptAlias /oarapi-public /usr/lib/cgi-bin/oarapi/oarapi.cgi
  ScriptAlias /oarapi-priv /usr/lib/cgi-bin/oarapi/oarapi.cgi
  ScriptAlias /oarapi /usr/lib/cgi-bin/oarapi/oarapi.cgi
  <Directory /usr/lib/cgi-bin/oarapi>
    Options +ExecCGI -MultiViews +FollowSymLinks
    SetEnv OARCONFFILE /etc/oar/oar.conf
    Require local
  </Directory>
  <Location /oarapi-public>
    RequestHeader unset X-Remote-Ident
  </Location>
  <Location /oarapi-priv>
    AuthType Basic
    AuthName "OAR API"
    AuthUserFile /etc/oar/api-users
    Require valid-user
    RewriteEngine On
    RewriteCond %{REMOTE_USER} (.*)
    RewriteRule .* - [E=G5K_REMOTE_USER:%1]
    RequestHeader set X-Remote-Ident %{G5K_REMOTE_USER}e
  </Location>
</VirtualHost>
EOF
    cmp -s "$tmp" "$site" || { cat "$tmp" > "$site"; changed=1; }
    rm -f "$tmp"
    if [ "$(head -1 /etc/apache2/suexec/www-data)" != /usr/lib/cgi-bin/oarapi ]; then
        sed -i '1s|.*|/usr/lib/cgi-bin/oarapi|' /etc/apache2/suexec/www-data; changed=1
    fi
    if grep -q '^Listen 80$' /etc/apache2/ports.conf; then
        sed -i 's/^Listen 80$/#Listen 80/' /etc/apache2/ports.conf; changed=1
    fi
    if [ $changed = 1 ]; then
        log "configuring apache2 for the OAR REST API on 127.0.0.1:$API_PORT"
        a2dissite -q 000-default >/dev/null 2>&1 || true
        a2disconf -q oar-restful-api >/dev/null 2>&1 || true
        a2enmod -q suexec cgid headers rewrite auth_basic authn_file >/dev/null
        a2ensite -q g5kpure-oarapi >/dev/null
        apache2ctl configtest >/dev/null 2>&1 || { apache2ctl configtest; die "apache2 configuration error"; }
        if alive_pidfile /var/run/apache2/apache2.pid; then apache2ctl graceful; fi
    fi
    local u
    touch /etc/oar/api-users
    for u in $TEST_USER $OTHER_USER $SPARE_USER; do
        grep -q "^$u:" /etc/oar/api-users || htpasswd -bB /etc/oar/api-users "$u" "${u}pw" 2>/dev/null
    done
    chmod 644 /etc/oar/api-users
    if ! alive_pidfile /var/run/apache2/apache2.pid; then
        log "starting apache2 (OAR REST API)"
        apache2ctl start
    fi
    for _ in $(seq 1 50); do
        curl -sf "http://127.0.0.1:$API_PORT/oarapi/version.json" >/dev/null && return 0
        sleep 0.2
    done
    die "the OAR REST API does not answer on 127.0.0.1:$API_PORT"
}

setup_frontend_sshd() {
    local dir="$STATE/frontend-sshd" entry
    mkdir -p "$dir"
    [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C g5kpure-testbed-frontend -f "$dir/host_ed25519"
    {
        echo "# sshd playing the Grid'5000 frontends of the g5kpure testbed (generated by tests/testbed/up.sh)"
        echo "Port $FRONTEND_PORT"
        for entry in $LIVE_FRONTENDS; do echo "ListenAddress ${entry##*:}"; done
        echo "HostKey $dir/host_ed25519"
        echo "PidFile $RUN/frontend-sshd.pid"
        echo "AllowUsers $TEST_USER $OTHER_USER $SPARE_USER"
        echo "PermitRootLogin no"
        echo "PubkeyAuthentication yes"
        echo "AuthorizedKeysFile .ssh/authorized_keys"
        echo "PasswordAuthentication no"
        echo "KbdInteractiveAuthentication no"
        echo "UsePAM no"
        echo "MaxStartups 200:30:400"
        echo "MaxSessions 100"
        echo "LoginGraceTime 20"
        echo "Subsystem sftp internal-sftp"
    } | run_sshd "frontend sshd on port $FRONTEND_PORT" "$dir" "$RUN/frontend-sshd.pid" "$LOGS/frontend-sshd.log"
    # known_hosts for ssh clients that check host keys (the OAR 2.6.1 frontend sshd has the same host key),
    # replaced atomically: tests may be reading it.
    local pub; pub=$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")
    tmp=$(mktemp "$STATE/known_hosts.XXXXXX")
    for entry in $LIVE_FRONTENDS $OAR26_FRONTENDS; do
        echo "[${entry%%:*}.$FRONTEND_DOMAIN]:$FRONTEND_PORT,[${entry##*:}]:$FRONTEND_PORT $pub"
    done > "$tmp"
    chmod 644 "$tmp"
    if cmp -s "$tmp" "$STATE/known_hosts"; then rm -f "$tmp"; else mv "$tmp" "$STATE/known_hosts"; fi
}

install_standins() {
    local manifest="$STATE/standins.installed" f name new=""
    if [ -d "$TESTBED_DIR/standins" ]; then
        for f in "$TESTBED_DIR"/standins/*; do
            [ -f "$f" ] && [ -x "$f" ] || continue
            name=$(basename "$f")
            cmp -s "$f" "/usr/local/bin/$name" || install -m 755 "$f" "/usr/local/bin/$name"
            new="$new $name"
        done
    fi
    if [ -f "$manifest" ]; then
        for name in $(cat "$manifest"); do
            grep -qw -- "$name" <<<"$new" || rm -f "/usr/local/bin/$name"
        done
    fi
    echo "$new" | tr ' ' '\n' | sed '/^$/d' > "$manifest"
}

machine_timezone() {
    if [ -s /etc/timezone ]; then head -1 /etc/timezone
    elif [ -L /etc/localtime ]; then readlink /etc/localtime | sed 's|.*/zoneinfo/||'
    else echo UTC
    fi
}

json_str() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

write_state() {
    local tmp entry first nodes="" live="" dead="" addrs="" oar26="" oar26_addrs="" oar26_pkgs="" pkg version
    tmp=$(mktemp "$STATE/testbed.json.XXXXXX")
    for entry in $LIVE_FRONTENDS; do live="$live${live:+, }$(json_str "${entry%%:*}")"; done
    for entry in $OAR26_FRONTENDS; do
        oar26="$oar26${oar26:+, }$(json_str "${entry%%:*}")"
        oar26_addrs="$oar26_addrs${oar26_addrs:+, }$(json_str "${entry%%:*}"): $(json_str "${entry##*:}")"
    done
    while read -r pkg version; do
        oar26_pkgs="$oar26_pkgs${oar26_pkgs:+, }$(json_str "$pkg"): $(json_str "$version")"
    done < <(tail -n +2 "$OAR26_PREFIX/.g5kpure-oar26" 2>/dev/null)
    for entry in $DEAD_FRONTENDS; do dead="$dead${dead:+, }$(json_str "${entry%%:*}")"; done
    for entry in $LIVE_FRONTENDS $DEAD_FRONTENDS; do
        addrs="$addrs${addrs:+, }$(json_str "${entry%%:*}"): $(json_str "${entry##*:}")"
    done
    while read -r cluster _ fqdn _; do
        nodes="$nodes${nodes:+, }{\"host\": $(json_str "$fqdn"), \"cluster\": $(json_str "$cluster")}"
    done < <(node_table)
    cat > "$tmp" <<EOF
{
  "format": 1,
  "state_dir": $(json_str "$STATE"),
  "timezone": $(json_str "$(machine_timezone)"),
  "frontend": {
    "user": $(json_str "$TEST_USER"),
    "key_filename": $(json_str "$STATE/keys/$TEST_USER"),
    "port": $FRONTEND_PORT,
    "host_suffix": $(json_str ".$FRONTEND_DOMAIN"),
    "live": [$live],
    "dead": [$dead],
    "addresses": {$addrs},
    "known_hosts": $(json_str "$STATE/known_hosts")
  },
  "oar26": {
    "frontends": [$oar26],
    "addresses": {$oar26_addrs},
    "packages": {$oar26_pkgs},
    "prefix": $(json_str "$OAR26_PREFIX"),
    "oarstat_default_output_format": 3,
    "config_file": $(json_str "$STATE/g5k-oar26.toml")
  },
  "other_user": {
    "user": $(json_str "$OTHER_USER"),
    "key_filename": $(json_str "$STATE/keys/$OTHER_USER")
  },
  "spare_user": {
    "user": $(json_str "$SPARE_USER"),
    "key_filename": $(json_str "$STATE/keys/$SPARE_USER")
  },
  "oar": {
    "site": $(json_str "$OAR_SITE"),
    "nodes": [$nodes],
    "cores_per_node": $((CPUS_PER_NODE * CORES_PER_CPU)),
    "api_url": "http://127.0.0.1:$API_PORT/oarapi",
    "api_priv_url": "http://127.0.0.1:$API_PORT/oarapi-priv",
    "api_public_url": "http://127.0.0.1:$API_PORT/oarapi-public",
    "api_passwords": {$(json_str "$TEST_USER"): $(json_str "${TEST_USER}pw"), $(json_str "$OTHER_USER"): $(json_str "${OTHER_USER}pw"), $(json_str "$SPARE_USER"): $(json_str "${SPARE_USER}pw")}
  },
  "db": {
    "host": "127.0.0.1",
    "port": 5432,
    "dbname": "oar",
    "user": "oar_ro",
    "password": $(json_str "$OAR_DB_RO_PASSWORD")
  }
}
EOF
    chmod 644 "$tmp"
    if cmp -s "$tmp" "$STATE/testbed.json"; then rm -f "$tmp"; else mv "$tmp" "$STATE/testbed.json"; fi
    # The same, as a configuration file of the `g5k` command (G5K_CONFIG=.testbed/g5k.toml g5k ...), and one
    # whose default frontend is the (first) OAR 2.6.1 frontend.
    write_g5k_toml "$STATE/g5k.toml" "$OAR_SITE"
    write_g5k_toml "$STATE/g5k-oar26.toml" "$(oar26_frontend_names | sed -n 1p)"
}

write_g5k_toml() {  # write_g5k_toml FILE DEFAULT_FRONTEND
    local tmp
    tmp=$(mktemp "$1.XXXXXX")
    cat > "$tmp" <<EOF
# g5k configuration reaching the testbed's frontends (generated by tests/testbed/up.sh)
[g5k]
default_frontend = "$2"
location = "outside"
oar_pgsql_ro_host = "127.0.0.1"
oar_pgsql_ro_port = 5432
oar_pgsql_ro_db = "oar"
oar_pgsql_ro_user = "oar_ro"
oar_pgsql_ro_password = "$OAR_DB_RO_PASSWORD"

[frontend]
user = "$TEST_USER"
port = $FRONTEND_PORT
keyfile = "$STATE/keys/$TEST_USER"
host_suffix = ".$FRONTEND_DOMAIN"
connect_timeout = 5
known_hosts = "$STATE/known_hosts"

# $(oar26_frontend_names | tr '\n' ' ')(OAR 2.6.1's user commands, oarstat format 3) is reached the same way.
EOF
    chmod 644 "$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

delete_leftover_jobs() {  # jobs of the test users still alive from an earlier run (their quota would fail tests)
    local u ids left
    for u in $TEST_USER $OTHER_USER $SPARE_USER; do
        ids=$(psql_oar "select job_id from jobs where job_user = '$u'
              and state not in ('Terminated', 'Error')" 2>/dev/null | tr '\n' ' ')
        [ -n "${ids// /}" ] || continue
        log "deleting leftover jobs of $u: $ids"
        # shellcheck disable=SC2086
        (cd / && runuser -u "$u" -- oardel $ids >/dev/null 2>&1) || true
    done
    for _ in $(seq 1 60); do
        left=$(psql_oar "select count(*) from jobs where job_user in
               ('$TEST_USER', '$OTHER_USER', '$SPARE_USER') and state not in ('Terminated', 'Error')" 2>/dev/null)
        [ "${left:-0}" = 0 ] && return 0
        sleep 1
    done
    log "warning: $left leftover jobs of the test users are still being deleted"
}

all_running() {
    pg_online && alive_pidfile /var/run/oar-server.pid && alive_pidfile /var/run/oar-node_sshd.pid \
        && alive_pidfile /var/run/apache2/apache2.pid && alive_pidfile "$RUN/frontend-sshd.pid" && oar26_running
}

check_frontends() {  # every live frontend name answers ssh as the test user (checked in parallel)
    local entry name pids=() failed=0
    for entry in $LIVE_FRONTENDS; do
        name="${entry%%:*}.$FRONTEND_DOMAIN"
        ssh -n -p "$FRONTEND_PORT" -i "$STATE/keys/$TEST_USER" -o BatchMode=yes -o IdentitiesOnly=yes \
            -o UserKnownHostsFile="$STATE/known_hosts" -o ConnectTimeout=5 "$TEST_USER@$name" 'id -un' \
            > "$RUN/check-$name.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
    for entry in $LIVE_FRONTENDS; do
        name="${entry%%:*}.$FRONTEND_DOMAIN"
        [ "$(cat "$RUN/check-$name.out")" = "$TEST_USER" ] \
            || die "cannot ssh to $TEST_USER@$name:$FRONTEND_PORT: $(cat "$RUN/check-$name.out")"
        rm -f "$RUN/check-$name.out"
    done
    [ $failed = 0 ] || die "ssh to a frontend failed"
}

check_all() {
    check_frontends
    ssh -n -p "$FRONTEND_PORT" -i "$STATE/keys/$TEST_USER" -o BatchMode=yes -o IdentitiesOnly=yes \
        -o UserKnownHostsFile="$STATE/known_hosts" "$TEST_USER@${LIVE_FRONTENDS%%:*}.$FRONTEND_DOMAIN" \
        oarstat >/dev/null || die "oarstat does not run on the frontend"
    oar26_check
    PGPASSWORD=$OAR_DB_RO_PASSWORD psql -h 127.0.0.1 -U oar_ro -d oar -Atc 'select count(*) from resources' \
        >/dev/null || die "the read-only OAR database role does not work"
}

main() {
    mkdir -p "$STATE" "$RUN" "$LOGS"
    chmod 755 "$STATE"
    local sig; sig=$(signature)
    # Users, sshds and OAR are machine-wide while keys live in each checkout: the stamp (which names the checkout's
    # state and key) is machine-wide too, so a checkout that another one's up.sh replaced is set up again.
    if [ "$(cat "$RUN/up.stamp" 2>/dev/null)" = "$sig" ] && all_running; then
        install_standins
        write_state
        check_frontends
        setup_remote
        delete_leftover_jobs
        log "testbed already up (state in $STATE/testbed.json)"
        return 0
    fi
    rm -f "$RUN/up.stamp"
    install_packages
    start_postgres
    configure_oar
    setup_database
    allow_g5k_job_types
    setup_hosts
    setup_users
    setup_node_sshd
    start_oar_server
    setup_resources
    setup_api
    setup_frontend_sshd
    oar26_install
    oar26_config
    oar26_schema
    oar26_sshd
    install_standins
    write_state
    check_all
    setup_remote
    delete_leftover_jobs
    signature > "$RUN/up.stamp"
    log "testbed up (state in $STATE/testbed.json)"
}

main
