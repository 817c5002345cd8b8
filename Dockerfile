# The production gateway image: one uvicorn worker per container, non-root,
# configured entirely from ZENHIRE_* environment variables (see README.md).
FROM python:3.11-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY gateway ./gateway
COPY audio ./audio
COPY controlplane ./controlplane
COPY zenhire ./zenhire
COPY static ./static
COPY scripts/models ./scripts/models
RUN pip install --no-cache-dir -c constraints.txt . \
    && scripts/models python /usr/local \
    && useradd --system --uid 10001 --home-dir /app zenhire \
    && mkdir -p /data && chown zenhire /data

USER zenhire
ENV ZENHIRE_DATA_DIR=/data \
    ZENHIRE_GATEWAY_HOST=0.0.0.0 \
    ZENHIRE_GATEWAY_PORT=8800 \
    ZENHIRE_STATIC_DIR=/app/static
EXPOSE 8800
VOLUME ["/data"]
CMD ["zenhire", "gateway", "serve"]
