# The testbed's OAR 2.6.1 frontend (sourced by up.sh and down.sh, after lib.sh).
# shellcheck shell=bash
#
# Grid'5000's frontends run OAR 2.5.10 configured with OARSTAT_DEFAULT_OUTPUT_FORMAT=3; Debian trixie's OAR
# 2.6.1 has the same user commands. The testbed's server is bookworm's 2.5.9. This adds a frontend name
# (OAR26_FRONTENDS, e.g. grenoble.frontend.g5kpure.test) whose oarsub, oarstat, oardel, oarwalltime,
# oarnodes, oarhold, oarresume are trixie's 2.6.1, talking to the same 2.5.9 server and database:
#
#   - trixie's liboar-perl, oar-common and oar-user .debs are fetched with apt-get download (a private sources
#     list and state directory: the machine's apt configuration is not touched) and unpacked with
#     dpkg-deb -x into OAR26_PREFIX, with the modes their postinsts give (setuid oardo wrappers);
#   - OAR26_PREFIX/etc/oar/oar.conf is a copy of the server's /etc/oar/oar.conf with
#     OARSTAT_DEFAULT_OUTPUT_FORMAT=3 (as on Grid'5000);
#   - a second frontend sshd, on the OAR 2.6.1 frontend addresses only, runs in its own mount namespace
#     (unshare -m) where OAR26_PREFIX's directories are bind-mounted over /usr/lib/oar, /usr/share/perl5/OAR and
#     /etc/oar (which holds only oar.conf there), and its files over /usr/bin/oar* and /usr/sbin/oar*: a session
#     there runs 2.6.1's own setuid oardo wrappers, exactly as on a real frontend, while the machine (and the
#     frontends rennes, nancy, lyon, served by the first sshd) keep 2.5.9. Replacing a file that is a mount
#     point elsewhere (sed -i, a package upgrade) detaches the mount in this namespace: /etc/oar is bound as a
#     directory for that reason (up.sh edits oar.conf with sed -i), and the sshd is restarted whenever one of
#     its mounts has gone;
#   - 2.6.1 reads and writes three columns of walltime_change that the 2.5.9 schema lacks (OAR's own upgrade
#     script pg_structure_upgrade_2.5.8-2.5.10.sql adds them): they are added, with their defaults. 2.5.9
#     names its columns in every statement on that table, so it does not see them.

# The files a session of the OAR 2.6.1 frontend sees instead of the machine's (relative to / and to the prefix).
OAR26_BIND_DIRS="usr/lib/oar usr/share/perl5/OAR etc/oar"

oar26_apt() {  # apt-get/apt-cache with a private sources list, state and cache (the machine's stay untouched)
    local tool=$1; shift
    local d=$OAR26_APT
    "$tool" -o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts="$d/sources.list.d" \
        -o Dir::Etc::preferences="$d/preferences" -o Dir::Etc::preferencesparts="$d/preferences.d" \
        -o Dir::State="$d/state" -o Dir::State::status="$d/state/status" -o Dir::Cache="$d/cache" \
        -o APT::Sandbox::User=root "$@"
}

# The Debian archive this machine's apt uses for its own release (deb822 .sources or one-line sources.list).
debian_archive_uri() {
    [ -z "${OAR26_DEBIAN_URI:-}" ] || { echo "$OAR26_DEBIAN_URI"; return 0; }
    local codename f
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
            {
                uri = ""; ok = 0; off = 0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split(substr($i, 6), u, " "); for (k in u) if (u[k] != "") { uri = u[k]; break } }
                    if ($i ~ /^Suites:/) { n = split(substr($i, 8), s, " "); for (k = 1; k <= n; k++) if (s[k] == c) ok = 1 }
                    if ($i ~ /^Enabled:[[:space:]]*no/) off = 1
                }
                if (ok && !off && uri != "") { print uri; exit }
            }' "$f"
    done
    if [ -f /etc/apt/sources.list ]; then
        sed -E 's/\[[^]]*\]//' /etc/apt/sources.list | awk -v c="$codename" '$1 == "deb" && $3 == c { print $2; exit }'
    fi
}

oar26_frontend_names() { local e; for e in $OAR26_FRONTENDS; do echo "${e%%:*}"; done; }

# The prefix holds what was unpacked and a stamp naming the recipe and the packages' versions.
OAR26_RECIPE="recipe 1: $OAR26_PACKAGES from $OAR26_SUITE"

oar26_installed() {
    [ -f "$OAR26_PREFIX/.g5kpure-oar26" ] && [ "$(head -1 "$OAR26_PREFIX/.g5kpure-oar26")" = "$OAR26_RECIPE" ]
}

oar26_install() {
    oar26_installed && return 0
    local uri d=$OAR26_APT new="$OAR26_PREFIX.new" p deb
    uri=$(debian_archive_uri | sed -n 1p)
    [ -n "$uri" ] || die "cannot find this machine's Debian archive in its apt sources (set OAR26_DEBIAN_URI)"
    log "fetching OAR 2.6.1's user commands ($OAR26_PACKAGES) from Debian $OAR26_SUITE"
    rm -rf "$d"
    mkdir -p "$d/sources.list.d" "$d/preferences.d" "$d/state/lists/partial" "$d/cache/archives/partial" "$d/debs"
    : > "$d/sources.list"
    : > "$d/state/status"
    cat > "$d/sources.list.d/$OAR26_SUITE.sources" <<EOF
Types: deb
URIs: $uri
Suites: $OAR26_SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    oar26_apt apt-get update -qq > "$LOGS/oar26-apt.log" 2>&1 \
        || { cat "$LOGS/oar26-apt.log"; die "apt-get update of Debian $OAR26_SUITE failed"; }
    # shellcheck disable=SC2086
    (cd "$d/debs" && oar26_apt apt-get download -qq $OAR26_PACKAGES) >> "$LOGS/oar26-apt.log" 2>&1 \
        || { cat "$LOGS/oar26-apt.log"; die "apt-get download $OAR26_PACKAGES failed"; }
    rm -rf "$new"
    mkdir -p "$new"
    for p in $OAR26_PACKAGES; do
        deb=$(ls "$d/debs/${p}_"*.deb)
        dpkg-deb -x "$deb" "$new"
        echo "$p $(dpkg-deb -f "$deb" Version)" >> "$new/.versions"
    done
    # The modes the packages' postinsts give (oar-user's user_setup, oar-common's common_setup), and the ones
    # bookworm's oar-common gives oardodo and the admin wrappers.
    for p in oarnodes oardel oarstat oarsub oarwalltime oarhold oarresume oarsh; do
        if [ -f "$new/usr/bin/$p" ]; then chown root:oar "$new/usr/bin/$p"; chmod 6755 "$new/usr/bin/$p"; fi
    done
    for p in "$new"/usr/sbin/*; do
        if [ -f "$p" ] && file_is_elf "$p"; then chown root:oar "$p"; chmod 6750 "$p"; fi
    done
    chown root:oar "$new/usr/lib/oar/oardodo" "$new/usr/lib/oar/oardodo/oardodo"
    chmod 6750 "$new/usr/lib/oar/oardodo/oardodo"
    mkdir -p "$new/etc/oar"
    { echo "$OAR26_RECIPE"; cat "$new/.versions"; } > "$new/.g5kpure-oar26"
    rm -f "$new/.versions"
    # Swap in place; a running OAR 2.6.1 frontend sshd still binds the old files: oar26_sshd restarts it.
    if [ -d "$OAR26_PREFIX" ]; then rm -rf "$OAR26_PREFIX.old"; mv "$OAR26_PREFIX" "$OAR26_PREFIX.old"; fi
    mv "$new" "$OAR26_PREFIX"
    rm -rf "$OAR26_PREFIX.old" "$d"
    log "OAR 2.6.1 user commands in $OAR26_PREFIX ($(tail -n +2 "$OAR26_PREFIX/.g5kpure-oar26" | paste -sd, - | sed 's/,/, /g'))"
}

file_is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# OAR 2.6.1's configuration: the server's, with Grid'5000's oarstat text format.
oar26_config() {
    local f="$OAR26_PREFIX/etc/oar/oar.conf" tmp
    tmp=$(mktemp "$f.XXXXXX")
    sed -E '/^#?[[:space:]]*OARSTAT_DEFAULT_OUTPUT_FORMAT=/d' "$OAR_CONF" > "$tmp"
    { echo; echo "# g5kpure testbed: the OAR 2.6.1 frontend prints oarstat as Grid'5000's frontends do"
      echo "OARSTAT_DEFAULT_OUTPUT_FORMAT=3"; } >> "$tmp"
    chown oar:root "$tmp"
    chmod 600 "$tmp"
    if cmp -s "$tmp" "$f"; then rm -f "$tmp"; else mv "$tmp" "$f"; fi
}

# The walltime_change columns of OAR 2.5.10's schema (pg_structure_upgrade_2.5.8-2.5.10.sql), which 2.6.1's
# oarwalltime and oarstat read and write. Added only when missing (no lock taken otherwise).
oar26_schema() {
    local have
    have=$(psql_oar "select count(*) from information_schema.columns where table_name = 'walltime_change'
                     and column_name in ('whole', 'granted_with_whole', 'timeout')")
    [ "$have" = 3 ] && return 0
    log "adding OAR 2.5.10's walltime_change columns (whole, granted_with_whole, timeout) for OAR 2.6.1"
    runuser -u postgres -- psql -d oar -qAt -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
ALTER TABLE walltime_change
  ADD COLUMN IF NOT EXISTS whole varchar(3) NOT NULL DEFAULT 'NO' CHECK (whole IN ('YES', 'NO')),
  ADD COLUMN IF NOT EXISTS granted_with_whole integer NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS timeout integer NOT NULL DEFAULT 0;
SQL
}

oar26_sshd_config() {  # the second frontend sshd's configuration, on stdout
    local entry
    echo "# sshd playing the OAR 2.6.1 frontends of the g5kpure testbed (generated by tests/testbed/up.sh)"
    echo "# It runs in a mount namespace where OAR 2.6.1's user commands replace the machine's (oar26.sh)."
    echo "Port $FRONTEND_PORT"
    for entry in $OAR26_FRONTENDS; do echo "ListenAddress ${entry##*:}"; done
    echo "HostKey $STATE/frontend-sshd/host_ed25519"
    echo "PidFile $RUN/oar26-sshd.pid"
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
}

# What the running sshd was started with: its configuration and the installed prefix.
oar26_sshd_stamp() { { cat "$STATE/oar26-sshd/sshd_config"; cat "$OAR26_PREFIX/.g5kpure-oar26"; } | sha256sum; }

# "SOURCE:TARGET" of every bind mount of the OAR 2.6.1 frontend's namespace.
oar26_binds() {
    local rel f
    for rel in $OAR26_BIND_DIRS; do echo "$OAR26_PREFIX/$rel:/$rel"; done
    for f in "$OAR26_PREFIX"/usr/bin/* "$OAR26_PREFIX"/usr/sbin/*; do
        rel=${f#"$OAR26_PREFIX"/}
        # A bind mount needs its target: a command bookworm lacks would be created on the shared disk, skip it.
        if [ -f "$f" ] && [ -f "/$rel" ]; then echo "$f:/$rel"; fi
    done
}

# Start sshd in a new mount namespace whose OAR files are the prefix's (bind mounts, private to it).
oar26_start_sshd() {
    # shellcheck disable=SC2016
    unshare --mount --propagation private /bin/bash -ec '
        for b in $1; do mount --bind "${b%%:*}" "${b##*:}"; done
        shift
        exec "$@"' oar26-namespace "$(oar26_binds | tr '\n' ' ')" \
        /usr/sbin/sshd -f "$STATE/oar26-sshd/sshd_config" -E "$LOGS/oar26-sshd.log"
}

# True when every bind mount is still in place in the running sshd's namespace.
oar26_mounts_ok() {
    local mounted b
    mounted=$(nsenter --target "$(cat "$RUN/oar26-sshd.pid")" --mount -- findmnt -rn -o TARGET 2>/dev/null) || return 1
    while read -r b; do
        grep -qxF "${b##*:}" <<<"$mounted" || return 1
    done < <(oar26_binds)
}

oar26_sshd() {
    local dir="$STATE/oar26-sshd" tmp
    mkdir -p "$dir"
    tmp=$(mktemp)
    oar26_sshd_config > "$tmp"
    cmp -s "$tmp" "$dir/sshd_config" || mv "$tmp" "$dir/sshd_config"
    rm -f "$tmp"
    /usr/sbin/sshd -t -f "$dir/sshd_config" || die "invalid OAR 2.6.1 frontend sshd configuration"
    if alive_pidfile "$RUN/oar26-sshd.pid" && [ "$(cat "$RUN/oar26-sshd.stamp" 2>/dev/null)" != "$(oar26_sshd_stamp)" ]; then
        stop_pidfile "$RUN/oar26-sshd.pid" "OAR 2.6.1 frontend sshd (configuration or OAR files changed)"
    elif alive_pidfile "$RUN/oar26-sshd.pid" && ! oar26_mounts_ok; then
        stop_pidfile "$RUN/oar26-sshd.pid" "OAR 2.6.1 frontend sshd (a file it binds was replaced)"
    fi
    if ! alive_pidfile "$RUN/oar26-sshd.pid"; then
        log "starting the OAR 2.6.1 frontend sshd ($(oar26_frontend_names | tr '\n' ' ')port $FRONTEND_PORT)"
        mkdir -p /run/sshd
        oar26_start_sshd
        for _ in $(seq 1 50); do alive_pidfile "$RUN/oar26-sshd.pid" && break; sleep 0.1; done
        alive_pidfile "$RUN/oar26-sshd.pid" || die "the OAR 2.6.1 frontend sshd did not start (see $LOGS/oar26-sshd.log)"
        oar26_sshd_stamp > "$RUN/oar26-sshd.stamp"
    fi
}

oar26_stop() {
    if alive_pidfile "$RUN/oar26-sshd.pid"; then
        for child in $(pgrep -P "$(cat "$RUN/oar26-sshd.pid")" || true); do kill -TERM "$child" 2>/dev/null || true; done
    fi
    stop_pidfile "$RUN/oar26-sshd.pid" "OAR 2.6.1 frontend sshd"
    rm -f "$RUN/oar26-sshd.stamp"
}

oar26_running() { alive_pidfile "$RUN/oar26-sshd.pid" && oar26_mounts_ok; }

# Every OAR 2.6.1 frontend name answers ssh, and its oarstat says 2.6.
oar26_check() {
    local name out
    for name in $(oar26_frontend_names); do
        out=$(ssh -n -p "$FRONTEND_PORT" -i "$STATE/keys/$TEST_USER" -o BatchMode=yes -o IdentitiesOnly=yes \
            -o UserKnownHostsFile="$STATE/known_hosts" -o ConnectTimeout=5 "$TEST_USER@$name.$FRONTEND_DOMAIN" \
            'oarstat -V && oarstat >/dev/null' 2>&1) || die "OAR 2.6.1 frontend $name: $out"
        grep -Eq 'OAR version ?: 2\.6' <<<"$out" || die "OAR 2.6.1 frontend $name runs another OAR: $out"
    done
}
