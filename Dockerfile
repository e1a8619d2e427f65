# The dagwire server: gRPC on 8083, the HTTP/JSON gateway (Kuscia's REST paths and
# Prometheus /metrics) on 8082, state in /data (SQLite, task logs, exit records).
#
#   docker build -t dagwire .
#   docker run --rm -p 8083:8083 -p 8082:8082 -v dagwire-data:/data dagwire
#
# deploy/ has a docker-compose file (with Prometheus) and a Kubernetes manifest.

FROM python:3.11-slim AS build
WORKDIR /src
COPY requirements/run.txt requirements/run.txt
# The runtime lock (setuptools included) first: the wheel is built and installed with
# exactly the versions CI tested.
RUN pip install --no-cache-dir -r requirements/run.txt
COPY pyproject.toml README.md ./
COPY gen gen
COPY server server
COPY client client
# The web UI's layout library, fetched at its pinned version and checksum.
COPY tools/ui_vendor.py tools/ui_vendor.py
RUN python tools/ui_vendor.py
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11-slim
# tini as PID 1 reaps task processes the server leaves behind (it disowns them, so that
# they survive a restart of the server) and forwards SIGTERM for a graceful stop.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 dagwire \
    && mkdir /data && chown dagwire /data
COPY --from=build /wheels /wheels
COPY requirements/run.txt /wheels/run.txt
RUN pip install --no-cache-dir -r /wheels/run.txt \
    && pip install --no-cache-dir --no-deps /wheels/*.whl && rm -rf /wheels
USER 10001
WORKDIR /data
ENV DAGWIRE_LISTEN=0.0.0.0:8083 \
    DAGWIRE_HTTP_LISTEN=0.0.0.0:8082 \
    DAGWIRE_DATA_DIR=/data \
    DAGWIRE_LOG_FORMAT=json \
    PYTHONUNBUFFERED=1
EXPOSE 8083 8082
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8082/metrics', timeout=2)"]
ENTRYPOINT ["tini", "--"]
CMD ["dagwire", "serve"]
