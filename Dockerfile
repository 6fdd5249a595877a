# The panel's image (web, admission, worker and beat run from it; see docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DERPMGR_DATA_DIR=/data
WORKDIR /app
# pg_dump / pg_restore for `manage.py backup` and `restore` (Debian 12's client is 15: the same
# major version as the compose file's PostgreSQL).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
RUN SECRET_KEY=collectstatic-only DERPMGR_DATA_DIR=/tmp/build python manage.py collectstatic --noinput -v0 && useradd -r -u 10001 derpmgr \
    && mkdir -p /data && chown derpmgr /data
USER derpmgr
EXPOSE 8000 8001
# Preloaded, gthread workers (derpmgr/gunicorn_conf.py; chosen with benchmarks/serving.py). Each
# thread keeps a database connection (DATABASE_CONN_MAX_AGE): 4 × 4 here.
CMD ["gunicorn", "-c", "python:derpmgr.gunicorn_conf", "derpmgr.wsgi", "--bind", "0.0.0.0:8000", \
     "--workers", "4", "--threads", "4", "--access-logfile", "-"]
