# syntax=docker/dockerfile:1
# sentry-stub as a service: docker compose up, or a `services:` container in CI.
# The container runs exactly the command the remote-mode tests run (client_tests/support.py):
# `sentry-stub serve`, configured by SENTRY_STUB_* variables.

# The base of both stages; a mirror or a pinned digest can replace it:
#   docker build --build-arg PYTHON_IMAGE=registry.example/python:3.11-slim .
ARG PYTHON_IMAGE=python:3.11-slim

# Stage 1: build wheels for sentry-stub and everything it depends on.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY server ./server
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Stage 2: install those wheels; the image keeps neither them, pip's cache nor the sources.
FROM ${PYTHON_IMAGE}
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels /wheels/sentry_stub-*.whl \
    && groupadd --system --gid 10001 sentry-stub \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin sentry-stub \
    && mkdir /data \
    && chown 10001:10001 /data

# Inside the container the server listens on every interface, so that port publishing and
# other containers (by the service name) can reach it; publish it on 127.0.0.1 on the host.
# The web UI and query API answer only to localhost, 127.0.0.1 and the names allowed here: the
# service name that compose and CI `services:` give the stub (ingest answers every name).
ENV SENTRY_STUB_HOST=0.0.0.0 \
    SENTRY_STUB_ALLOWED_HOSTS=sentry-stub \
    SENTRY_STUB_PORT=8990 \
    SENTRY_STUB_DB=/data/sentry-stub.sqlite3 \
    PYTHONUNBUFFERED=1
# Projects, keys and scrubbing: mount a TOML file and point SENTRY_STUB_CONFIG at it.
# Without one the server runs in open mode (any key, any numeric project id).

VOLUME /data
# SQLite writes its temporary files to /var/tmp unless TMPDIR names another directory: keep
# them on the volume too, so that the container writes nothing outside /data.
ENV TMPDIR=/data
WORKDIR /data
USER 10001:10001
EXPOSE 8990

# The slim image has no curl; Python's urllib asks Relay's readiness route instead.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['SENTRY_STUB_PORT'] + '/api/relay/healthcheck/ready/', timeout=2)"]

CMD ["sentry-stub", "serve"]
