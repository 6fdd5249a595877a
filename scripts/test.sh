#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, migrations check, the suite
# on SQLite with the filesystem broker, then again on PostgreSQL with Redis.
# As root it installs the Debian packages the suite uses (and PostgreSQL / Redis if none is
# reachable). With CI=true a missing part fails the run instead of being left out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

CI=${CI:-false}
OWN_POSTGRES=$([ -z "${TEST_DATABASE_URL:-}" ] && echo true || echo false)
TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/derpmgr}
TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

# Debian packages the suite uses, and the one-time machine set-up of the fleet tests (sshd on
# loopback addresses in front of podman serving the Docker API; the tests start and stop them).
if is_root; then
  apt_install python3-venv
  apt_install_without_starting podman runc netavark aardvark-dns iptables openssh-server \
    socat iproute2 iputils-ping
  # Both passes start private redis-server and PostgreSQL processes in some tests (a broker or a
  # cache that goes down); the second pass also uses the machine's own (started below).
  apt_install_without_starting redis-server postgresql
  # The browser tests (tests/browser) drive Debian's Chromium through Playwright, launched by
  # its path: Playwright's own browser download cannot work here, so `playwright install` is
  # never run. A Chinese font, so that zh-hans pages are laid out (and screenshots read) with
  # real glyphs.
  apt_install chromium fonts-wqy-microhei
  configure_podman
fi

start_services() {
  # PostgreSQL and Redis on loopback, installed and started here when none is reachable.
  if ! tcp_open 127.0.0.1 5432 && is_root; then
    apt_install postgresql
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
  # The machine's own PostgreSQL (started here or by an earlier run): a known password for TCP.
  if [ "$OWN_POSTGRES" = true ] && is_root && command -v psql >/dev/null \
      && su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null 2>&1; then
    TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/derpmgr
  fi
  if ! tcp_open 127.0.0.1 6379 && is_root; then
    apt_install redis-server
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  fi
}

ensure_venv requirements-dev.txt

# The real relay (derper) and clients (tailscaled, tailscale, headscale), built from the Go module
# proxy at the pinned versions; kept between runs (scripts/build-tailscale.sh).
say "Real Tailscale parts (derper, tailscaled, tailscale, headscale)"
if ! scripts/build-tailscale.sh; then
  if [ "$CI" = true ]; then
    echo "Building the Tailscale parts failed; CI=true needs them." >&2
    exit 1
  fi
  say "Building the Tailscale parts failed: the tests that run them are left out (CI=true would fail)."
fi
export DERPMGR_DATA_DIR=${DERPMGR_DATA_DIR:-$PWD/data/test}

say "ruff"
"$VENV/bin/ruff" check .
say "Migrations are committed"
DERPMGR_ENV=test "$VENV/bin/python" manage.py makemigrations --check --dry-run

say "Suite on SQLite, filesystem broker (with the browser tests)"
env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL "$VENV/bin/python" -m pytest -m "not postgres" "$@"

start_services
db_host=$(echo "$TEST_DATABASE_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^:/]+).*#\2#')
if tcp_open "$db_host" 5432 && tcp_open 127.0.0.1 6379; then
  # The browser tests ran once already, in the SQLite pass: they test pages, not the database.
  say "Suite on PostgreSQL and Redis (without the browser tests)"
  DATABASE_URL=$TEST_DATABASE_URL REDIS_URL=$TEST_REDIS_URL "$VENV/bin/python" -m pytest \
    -m "not browser" "$@"
elif [ "$CI" = true ]; then
  echo "PostgreSQL ($TEST_DATABASE_URL) or Redis (127.0.0.1:6379) is not reachable; CI=true needs both." >&2
  exit 1
else
  say "PostgreSQL or Redis not reachable: the PostgreSQL/Redis pass was left out (CI=true would fail)."
fi
say "All tests passed"
