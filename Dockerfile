# syntax=docker/dockerfile:1
# hotline: one image for every process (gateway, router, api, sla-monitor, outbox-relay, migrate).
# Built from requirements.lock (pinned; regenerate with `python deploy/lock.py`), non-root, no
# compilers in the final stage.  Build:  docker build -t hotline:latest .
# With OpenTelemetry exporters:  docker build --build-arg WITH_OTEL=1 -t hotline:otel .

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ARG WITH_OTEL=0
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/hotline
WORKDIR /build
# Dependencies first, from the lock file alone, so this layer is cached across code changes.
COPY requirements.lock requirements-otel.lock ./
RUN /opt/hotline/bin/pip install --no-deps -r requirements.lock \
    && if [ "$WITH_OTEL" = "1" ]; then /opt/hotline/bin/pip install --no-deps -r requirements-otel.lock; fi
# Then hotline itself, without touching the pinned set (src/hotline/channels links to channels/).
COPY pyproject.toml README.md ./
COPY src ./src
COPY channels ./channels
RUN /opt/hotline/bin/pip install --no-deps . \
    && /opt/hotline/bin/pip check

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="hotline" \
      org.opencontainers.image.description="12345 government service hotline backend" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 hotline \
    && useradd --system --uid 10001 --gid hotline --home-dir /app --shell /usr/sbin/nologin hotline \
    && mkdir -p /app/var /app/models && chown -R hotline:hotline /app
COPY --from=build /opt/hotline /opt/hotline
COPY --chown=hotline:hotline migrations /app/migrations
ENV PATH=/opt/hotline/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOTLINE_MIGRATIONS_DIR=/app/migrations \
    HOTLINE_SPOOL_PATH=/app/var/spool.db \
    HOTLINE_MODEL_DIR=/app/models \
    HOTLINE_LOG_JSON=true
WORKDIR /app
USER 10001:10001
# api, gateway, router metrics
EXPOSE 8000 8001 9100
ENTRYPOINT ["hotline"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
