# The pts image: the CLI and the stream worker. Used by docker-compose.yml.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY pts pts
COPY core core
COPY schemas schemas
COPY client client
COPY selection selection
COPY streams streams
COPY consumers consumers
COPY worker worker
COPY sinks sinks
COPY ops ops
COPY evaluation evaluation
RUN pip install --no-cache-dir '.[worker]'
ENV PTS_DATA_DIR=/data
VOLUME /data
ENTRYPOINT ["pts"]
CMD ["worker"]
