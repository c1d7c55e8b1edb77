# The pts image: the CLI, the stream worker and the history loader (the worker extra brings
# faust, River, chdb and clickhouse-connect). Used by docker-compose.yml.
FROM python:3.11-slim
# git: `pts record build` reads the changes of a mounted repository.
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
# Every folder of [tool.setuptools.package-dir] (tests/ops/test_compose.py checks the list).
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
COPY gateway gateway
COPY report report
RUN pip install --no-cache-dir '.[worker,gateway]'
# Not root: the state volume is created owned by the user that writes it.
RUN useradd --create-home --uid 1000 pts && mkdir /data && chown pts /data
USER pts
ENV PTS_DATA_DIR=/data
VOLUME /data
ENTRYPOINT ["pts"]
CMD ["worker"]
