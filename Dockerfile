# Efir: slim, non-root (numeric uid 10001), healthcheck on /healthz at EFIR_HTTP_PORT.
# Clean under hadolint (tests/deploy/test_packaging.py).
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
COPY pyproject.toml uv.lock README.md LICENSE CHANGELOG.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY service ./service
COPY migrations ./migrations
RUN uv sync --locked --no-dev

FROM python:3.11-slim
RUN groupadd --system --gid 10001 efir \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/efir --create-home efir
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    EFIR_DATA_DIR=/var/lib/efir \
    EFIR_HTTP_HOST=0.0.0.0 \
    EFIR_HTTP_PORT=8080
USER 10001:10001
WORKDIR /var/lib/efir
EXPOSE 8080
# Liveness, not readiness: a broker or database outage is reported by /readyz
# and the metrics; restarting Efir would not fix it. `efir healthcheck` reads
# EFIR_HTTP_HOST and EFIR_HTTP_PORT like `efir run`.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s CMD ["efir", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["efir"]
CMD ["run"]
