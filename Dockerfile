# syntax=docker/dockerfile:1
# The LiveKit worker for the contact-center agent.
#   docker build -t callcenter .
#   docker run --env-file .env -p 8081:8081 -p 9100:9100 callcenter   # `callcenter start`
#   docker run --env-file .env callcenter callcenter db upgrade   # the schema, once per deploy

# ---- build: resolve the locked environment with uv -------------------------------------
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# 1) dependencies only (cached while uv.lock is unchanged)
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
# 2) the project itself
COPY callcenter ./callcenter
COPY prompts ./prompts
COPY dispatch_rules ./dispatch_rules
COPY scripts ./scripts
COPY alembic.ini ./
RUN uv sync --locked --no-dev
# 3) model files at build time, not on the first call (Silero VAD, noise cancellation)
RUN .venv/bin/python -m livekit.agents download-files

# ---- runtime: the environment and code only, as a non-root user ----------------------
FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 agent
WORKDIR /app
COPY --from=build --chown=agent:agent /app /app
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1
USER agent
# The SQLite default lives in /app/var; production sets DATABASE_URL to PostgreSQL.
RUN mkdir -p /app/var

# LiveKit's health endpoint (GET / -> 200, 503 when LiveKit is unreachable) and Prometheus.
EXPOSE 8081 9100
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=4 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CALLCENTER_HEALTH_PORT', '8081') + '/', timeout=4)"]

# Stopping: SIGTERM makes the worker drain (no new call; the calls under way may last up to
# CALLCENTER_DRAIN_TIMEOUT_S, default 1860 s), then exit. Give it that long before SIGKILL:
#   docker stop --time 1920 <container>      compose: stop_grace_period: 32m
#   Kubernetes: terminationGracePeriodSeconds: 1920 (deploy/kubernetes/worker-deployment.yaml)
# Docker's default of 10 s would cut every call in progress.
STOPSIGNAL SIGTERM
CMD ["callcenter", "start"]
