# shellcheck shell=bash
# Starts a throwaway PostgreSQL cluster on loopback for the test suite.
# Sourced by .ci/run; exports SEALDROP_TEST_POSTGRES_URL.
start_test_postgres() {
  local pgbin port dir
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  port=${SEALDROP_TEST_PG_PORT:-54329}
  dir=${SEALDROP_TEST_PG_DIR:-/tmp/sealdrop-ci-pg}
  if ! su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir status" >/dev/null 2>&1; then
    rm -rf "$dir"
    install -d -o postgres -g postgres -m 0700 "$dir"
    su postgres -s /bin/sh -c "$pgbin/initdb -D $dir -A trust -U postgres -E UTF8 --locale=C.UTF-8" >/dev/null
    su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $dir -l $dir/log -w \
      -o '-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c fsync=off' start" >/dev/null
  fi
  export SEALDROP_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
  export SEALDROP_TEST_PG_BIN="$pgbin"
  export SEALDROP_TEST_PG_DATA="$dir"
}
