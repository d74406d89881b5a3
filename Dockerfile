# Efir: slim, non-root, healthcheck on /readyz.
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
RUN useradd --system --uid 10001 --home-dir /var/lib/efir --create-home efir
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    EFIR_DATA_DIR=/var/lib/efir \
    EFIR_HTTP_HOST=0.0.0.0 \
    EFIR_HTTP_PORT=8080
USER efir
WORKDIR /var/lib/efir
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/readyz', timeout=2).status == 200 else 1)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["efir"]
CMD ["run"]
