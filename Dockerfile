# The relay as a container image: built from this repository with pnpm, run as compiled JavaScript with
# only its production dependencies, as the unprivileged user `node`. Ports, networking and the announced
# IP: docs/deploy.md#docker.
#   docker build -t sfu-relay .
#   docker run --network host -e SFU_KEYS=main:SECRET -e SFU_ANNOUNCED_IPS=PUBLIC_IP sfu-relay
# The two stages run the same steps as the install test (test/browser/e2e/install.e2e.ts): pack the
# three packages with scripts/pack.mjs, then `npm install` the tarballs in an empty directory.

FROM node:24-bookworm-slim AS build
RUN npm install -g pnpm@12.21.0
WORKDIR /src
COPY . .
# The relay and the workspace packages it depends on (protocol, sdk), with pnpm's patch of werift.
RUN pnpm install --frozen-lockfile --filter "@sfu-room/relay..."
RUN node scripts/pack.mjs /packages

FROM node:24-bookworm-slim
WORKDIR /app
COPY --from=build /packages /tmp/packages
# The relay's install script builds its native send accelerator (docs/configuration.md, --native-send)
# with a C compiler against the image's Node headers (/usr/local/include/node); the compiler is removed after.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && npm install --omit=dev --no-audit --no-fund /tmp/packages/*.tgz \
 && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* /tmp/packages && npm cache clean --force
USER node
# Listen on every interface of the container; media on a fixed range that `docker run -p` can publish
# (100 participants: two ports each, split between the relay's workers, one per core the container may
# use). Every one of these can be overridden with -e or a flag (SFU_WORKERS for the worker count).
ENV NODE_ENV=production \
    SFU_HOST=0.0.0.0 \
    SFU_PORT=7880 \
    SFU_RTC_BIND=0.0.0.0 \
    SFU_UDP_PORTS=40000-40199 \
    SFU_TCP_PORTS=40000-40199
# Signaling and HTTP (/ws, /health, /metrics, /sfu-room.js); WebRTC media over UDP, ICE-TCP where UDP is blocked.
EXPOSE 7880/tcp 40000-40199/udp 40000-40199/tcp
# /health on the container's own loopback (with --tls-cert the relay speaks HTTPS; the certificate is not
# checked here: it names the public host, and this connection never leaves the container).
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; fetch(`${process.env.SFU_TLS_CERT ? 'https' : 'http'}://127.0.0.1:${process.env.SFU_PORT}/health`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/app/node_modules/.bin/sfu-relay"]
