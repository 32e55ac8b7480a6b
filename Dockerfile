# Tandem: the API, the PWA and the reminder worker (one image; the command picks the role).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TANDEM_DATA_DIR=/data

RUN groupadd --system --gid 10001 tandem \
    && useradd --system --uid 10001 --gid tandem --home-dir /app --shell /usr/sbin/nologin tandem \
    && install -d -o tandem -g tandem -m 0700 /data

WORKDIR /app
# Dependencies first, so a code change does not reinstall them. The install is editable:
# the code finds alembic/ and frontend/ next to backend/ (Path(__file__).parents[2] == /app).
COPY pyproject.toml README.md ./
COPY backend/ backend/
RUN pip install --editable . \
    && rm -rf /root/.cache
COPY alembic.ini ./
COPY alembic/ alembic/
COPY frontend/ frontend/

USER tandem
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# One container with everything (SQLite in /data). docker-compose.yml runs the roles apart.
CMD ["tandem", "serve", "--host", "0.0.0.0", "--port", "8000"]
