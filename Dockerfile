# monitor as a container: `docker build -t monitor .` then, from the folder holding config.toml
# and the seeds/ its baselines name,
#   docker run -d --name monitor -v monitor-data:/var/lib/monitor \
#     -v "$PWD/config.toml:/var/lib/monitor/config.toml:ro" \
#     -v "$PWD/seeds:/var/lib/monitor/seeds:ro" monitor
# Relative paths in the config are taken from its folder, /var/lib/monitor: the database lands in
# the volume (keep `database` relative, the default) and every baseline must be in a folder
# mounted beside the config (seeds/ here; mount any other the same way).
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
# Healthy means the service runs (its heartbeat is fresh), not that every watched site is up:
# `monitor status` alone exits 1 when a source fails. Docker reserves exit status 2, hence `|| exit 1`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s \
    CMD monitor status --service > /dev/null || exit 1
CMD ["monitor", "run", "--log-format", "json"]
