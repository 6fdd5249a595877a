#!/usr/bin/env bash
# Start derpmgr on one machine with embedded defaults: SQLite, the database cache, Celery on the
# filesystem broker with beat inside the worker, e-mail written to data/mail. Ctrl-C stops it.
# Every default can be replaced by an environment variable (see README, "Settings").
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

BIND=${DERPMGR_BIND:-127.0.0.1:8000}
ADMISSION_BIND=${ADMISSION_BIND:-127.0.0.1:8001}

ensure_venv requirements.txt
say "Preparing the database"
"$VENV/bin/python" manage.py migrate --noinput -v0
# Server credentials no key can decrypt: said loudly, but the panel still starts (only fleet work
# needs them; see README, "Backups" for what to do).
"$VENV/bin/python" manage.py check_credentials \
  || say "WARNING: some server credentials cannot be decrypted (see above); the panel starts anyway"
"$VENV/bin/python" manage.py createcachetable
"$VENV/bin/python" manage.py sync_schedules
"$VENV/bin/python" manage.py collectstatic --noinput -v0
"$VENV/bin/python" manage.py ensure_superadmin

pids=()
stop() {
  trap - INT TERM EXIT
  say "Stopping"
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

say "Starting the web server on http://$BIND, relay admission on http://$ADMISSION_BIND and a Celery worker with embedded beat"
# derpmgr/gunicorn_conf.py: the app preloaded once and forked, gthread workers (benchmarks/serving.py).
"$VENV/bin/gunicorn" derpmgr.wsgi -c python:derpmgr.gunicorn_conf --bind "$BIND" \
  --workers "${WEB_WORKERS:-2}" --threads "${WEB_THREADS:-4}" \
  --access-logfile - --log-level info --no-control-socket &
pids+=($!)
# Relay admission in its own processes: slow pages cannot take its workers (README, "When parts
# fail"). Threads: a cache miss waiting on the database does not hold up the cached answers.
"$VENV/bin/gunicorn" derpmgr.admission_wsgi -c python:derpmgr.gunicorn_conf --bind "$ADMISSION_BIND" \
  --workers 1 --threads 8 \
  --log-level info --no-control-socket &
pids+=($!)
"$VENV/bin/celery" -A derpmgr worker -B --loglevel=INFO --concurrency "${CELERY_CONCURRENCY:-2}" \
  --schedule "${DERPMGR_DATA_DIR:-data}/celerybeat-schedule" &
pids+=($!)
say "Sign in at http://$BIND/accounts/login/  (Ctrl-C stops them all)"
wait -n "${pids[@]}"
