# The portal as a container image: `portal serve` on port 8000, as a user without privileges.
# Nothing secret is built in: DATABASE_URL, PORTAL_SECRET_KEY and PORTAL_PUBLIC_URL are given at
# run time (docs/operations.md, "A container image"). Migrate first, once per release:
#   docker run --rm --env-file portal.env portal portal db upgrade

FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# The locked dependencies first: this layer is rebuilt only when they change.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY alembic.ini ./
COPY alembic ./alembic
COPY portal ./portal
COPY templates ./templates
COPY static ./static
RUN uv sync --locked --no-dev

FROM python:3.11-slim
# A fixed numeric id, so that an orchestrator can check it is not root (runAsNonRoot).
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --shell /usr/sbin/nologin portal
WORKDIR /app
# Owned by root and read-only to the portal user: the process cannot change its own code.
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PORTAL_DATA_DIR=/tmp/portal
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]
CMD ["portal", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
