# Parley, for running several instances behind a load balancer (see docker-compose.yml).
# The browser chat's socket.io-client build: one pinned npm tarball, integrity checked.
FROM node:20-slim AS vendor
WORKDIR /app
COPY scripts/fetch-web-vendor ./scripts/
RUN mkdir -p src/parley/web && scripts/fetch-web-vendor

FROM python:3.11-slim AS build
WORKDIR /app
COPY pyproject.toml constraints.txt README.md LICENSE ./
COPY src ./src
COPY --from=vendor /app/src/parley/web/vendor ./src/parley/web/vendor
RUN python -m venv /venv \
 && /venv/bin/pip install --no-cache-dir -c constraints.txt .

FROM python:3.11-slim
RUN useradd --system --uid 10001 parley
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    APP_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    PARLEY_DATA_DIR=/data
RUN mkdir -p /data && chown parley /data
USER parley
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health'); sys.exit(0)"
CMD ["parley", "serve"]
