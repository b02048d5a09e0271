# Throwaway PostgreSQL cluster, shared by scripts/test and scripts/bench (sourced).
#
#   pg_start   finds (or, as root on Debian, installs) PostgreSQL, starts a cluster in a
#              temp dir on a free port and exports DATABASE_URL, LATCHKEY_TEST_POSTGRES and
#              LATCHKEY_TEST_PG_BIN; sets PG_BIN, PSQL, PG_TMP, PG_PORT. Extra server
#              options for `postgres` go in PG_EXTRA_OPTS (e.g. "-c shared_preload_libraries=x");
#              a later -c wins, so they may also override the defaults below.
#   pg_stop    stops it (immediate mode) and removes the temp dir; safe to call twice.
#   free_port  prints a TCP port that is free right now.
#
# The caller defines section() and die(), and calls pg_stop from its EXIT trap.

# ---------------------------------------------------------------------------
# PostgreSQL server binaries
# ---------------------------------------------------------------------------

# Prints the directory holding initdb/pg_ctl/postgres, or fails.
# We resolve symlinks so that psql from the same installation is found too
# (Debian's /usr/bin/psql is a wrapper that wants a configured cluster).
find_pg_bin() {
    local ctl dir
    if ctl=$(command -v pg_ctl) && command -v initdb >/dev/null; then
        dir=$(dirname "$(readlink -f "$ctl")")
        if [[ -x $dir/initdb && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    fi
    # Debian/Ubuntu keep server binaries off PATH; take the newest version.
    for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# ---------------------------------------------------------------------------
# Throwaway cluster
# ---------------------------------------------------------------------------

PG_USER=
PG_TMP=
PG_STARTED=

# Runs a command as the server user, from inside the temp dir (the user may
# not be allowed into the repo's directory).
as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$PG_TMP" && "$@")
    elif command -v runuser >/dev/null; then
        (cd "$PG_TMP" && runuser -u "$PG_USER" -- "$@")
    else
        (cd "$PG_TMP" && su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")")
    fi
}

# Prints a TCP port that is free right now (the OS picks it).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null && return 0
    # No python3: probe random high ports until nothing answers.
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

pg_stop() {
    if [[ -n $PG_STARTED ]]; then
        # Immediate mode: the data is thrown away anyway, no need to wait
        # for a clean shutdown checkpoint.
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -s stop >/dev/null 2>&1; then
            # Last resort so that no server outlives us.
            local pid
            pid=$(head -n1 "$PG_TMP/data/postmaster.pid" 2>/dev/null)
            [[ -n $pid ]] && kill -9 "$pid" 2>/dev/null
        fi
    fi
    [[ -n $PG_TMP ]] && rm -rf "$PG_TMP"
    PG_STARTED=
    PG_TMP=
}

pg_start() {
    section "postgres"
    if ! PG_BIN=$(find_pg_bin); then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            echo "PostgreSQL not found; installing it with apt-get"
            # Debian's server package also ships the contrib extensions (citext).
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq --no-install-recommends postgresql >/dev/null
            PG_BIN=$(find_pg_bin) || die "PostgreSQL still not found after apt-get install"
        else
            die "PostgreSQL server binaries (initdb, pg_ctl) not found; install PostgreSQL (with contrib) or run as root on Debian/Ubuntu"
        fi
    fi
    if [[ -x $PG_BIN/psql ]]; then PSQL=$PG_BIN/psql; else PSQL=psql; fi
    echo "using $PG_BIN ($("$PG_BIN/postgres" --version))"

    # Postgres refuses to run as root (a compromised server would own the box),
    # and CI runs us as root. In that case run the server as an unprivileged
    # user instead; as a normal user, just run it as ourselves.
    PG_USER=
    if [[ $(id -u) -eq 0 ]]; then
        PG_USER=latchkey-test
        if ! id -u "$PG_USER" >/dev/null 2>&1; then
            # `|| id` tolerates a concurrent run creating the user first.
            useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER" 2>/dev/null \
                || id -u "$PG_USER" >/dev/null \
                || die "could not create user $PG_USER"
        fi
    fi

    # Always under /tmp: $TMPDIR may point somewhere the server user can't reach,
    # and the Unix socket path must stay short (~100 bytes max).
    PG_TMP=$(mktemp -d /tmp/latchkey-pg.XXXXXX)
    [[ -n $PG_USER ]] && chown "$PG_USER" "$PG_TMP"

    as_pg "$PG_BIN/initdb" -U postgres --auth=trust --no-locale -E UTF8 -D "$PG_TMP/data" >"$PG_TMP/initdb.log" 2>&1 \
        || { cat "$PG_TMP/initdb.log" >&2; die "initdb failed"; }

    # Another process may grab the port between picking and binding, so retry.
    # fsync & co. are off: durability is pointless for a throwaway cluster, and
    # it makes the per-test databases of #[sqlx::test] much faster to create.
    local attempt
    for attempt in 1 2 3; do
        PG_PORT=$(free_port) || die "could not find a free TCP port"
        PG_STARTED=1
        if as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/postgres.log" -s -w \
            -o "-p $PG_PORT -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200${PG_EXTRA_OPTS:+ $PG_EXTRA_OPTS}" \
            start; then
            break
        fi
        # It may be half up (e.g. -w timed out): make sure it is gone.
        as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate -s stop >/dev/null 2>&1 || true
        PG_STARTED=
        if [[ $attempt -eq 3 ]]; then
            tail -n 20 "$PG_TMP/postgres.log" >&2 || true
            die "could not start PostgreSQL"
        fi
    done

    # #[sqlx::test] connects here and creates one fresh database per test.
    export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
    export LATCHKEY_TEST_POSTGRES=1
    # Tests that need a PostgreSQL of their own (e.g. to stop it mid-flight) start one from here.
    export LATCHKEY_TEST_PG_BIN=$PG_BIN
    echo "PostgreSQL running at $DATABASE_URL"

    # The migrations need citext; fail here with a clear message rather than in
    # the middle of the test run.
    local citext
    citext=$("$PSQL" "$DATABASE_URL" -XAtq -c "select count(*) from pg_available_extensions where name = 'citext'")
    [[ $citext == 1 ]] || die "the citext extension is not available (install PostgreSQL's contrib package)"
}
