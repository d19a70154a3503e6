# XID in a container: the same install as the README's quick start, then `xid init && xid serve`.
#   docker build -t xid .
#   docker run -p 5006:5006 -v xid-data:/data xid                       # your own data (SQLite in /data)
#   docker run -p 5006:5006 xid xid serve --demo --address 0.0.0.0      # the demo
# For a team, set XID_DATABASE_URL=postgresql+psycopg://user@host/db and XID_ALLOW_WEBSOCKET_ORIGIN='["your.host"]'.
FROM python:3.11-slim

WORKDIR /opt/xid
COPY pyproject.toml README.md ./
COPY xid_app ./xid_app
COPY migrations ./migrations
COPY static ./static
RUN pip install --no-cache-dir '.[postgres]'

ENV XID_DATA_DIR=/data \
    XID_ADDRESS=0.0.0.0 \
    XID_PORT=5006
VOLUME /data
EXPOSE 5006
CMD ["sh", "-c", "xid init && xid serve"]
