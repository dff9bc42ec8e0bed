# monitor as a container: `docker build -t monitor .` then
#   docker run -d -v monitor-data:/var/lib/monitor -v $PWD/config.toml:/var/lib/monitor/config.toml:ro monitor
# Keep `database` relative (the default) so that the database lands in the volume.
FROM python:3.11-slim

RUN useradd --system --create-home --home-dir /var/lib/monitor monitor
WORKDIR /opt/monitor
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY seeds ./seeds
RUN pip install --no-cache-dir . && rm -rf /opt/monitor/monitor

USER monitor
WORKDIR /var/lib/monitor
VOLUME ["/var/lib/monitor"]
ENV MONITOR_CONFIG=/var/lib/monitor/config.toml
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=10s CMD ["monitor", "status"]
CMD ["monitor", "run", "--log-format", "json"]
