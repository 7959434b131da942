# Production image: dependencies built in one stage, a slim non-root runtime in the next.
# The container applies migrations, loads the plan data (idempotent), then serves with
# DXPLAN_WORKERS uvicorn workers. DATABASE_URL must point at an external PostgreSQL: the
# package is installed without its `embedded` extra, so the image carries no PostgreSQL.
# The build context is what .dockerignore allows (no .venv, .data, .git, tests).

FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
RUN /opt/venv/bin/pip install .

FROM python:3.12-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    DXPLAN_HOST=0.0.0.0 \
    DXPLAN_PORT=8000 \
    DXPLAN_WORKERS=4 \
    DXPLAN_MIGRATIONS_DIR=/app/migrations
RUN groupadd --system --gid 10001 dxplan \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin dxplan
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["dxplan", "serve"]
