# syntax=docker/dockerfile:1
# The bus as an image: built JavaScript (out/bus) and bin/ launchers, production dependencies only,
# run as a non-root user. No Docker engine runs in CI: scripts/check-image.ts reads this file's
# last stage (its COPY, ENV, WORKDIR, CMD and HEALTHCHECK lines) and the `deps` stage's RUN lines,
# rebuilds that tree in an empty folder and runs the bus from it against PostgreSQL and Redis.
# Keep COPY sources absolute under a stage's WORKDIR and CMD/HEALTHCHECK in JSON form: the check
# refuses anything else rather than guess.

# The whole build, as CI runs it (`npm ci`, `npm run build`); the agent's Electron binary is not needed.
FROM node:20-bookworm AS build
ENV ELECTRON_SKIP_BINARY_DOWNLOAD=1
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only. better-sqlite3 is a native module: the full node image has
# python3, make and g++ for node-gyp, the slim runtime does not (same Debian, same glibc).
FROM node:20-bookworm AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production RINGBRIDGE_DATA_DIR=/data RINGBRIDGE_HOST=0.0.0.0 RINGBRIDGE_PORT=8080
WORKDIR /app
# The app's files stay root's (read-only to the bus); only the data volume belongs to its user.
RUN groupadd --system --gid 10001 ringbridge \
 && useradd --system --uid 10001 --gid ringbridge --home-dir /data --shell /usr/sbin/nologin ringbridge \
 && mkdir /data && chown ringbridge:ringbridge /data && chmod 0700 /data
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/out/bus ./out/bus
COPY --from=build /app/bin ./bin
USER ringbridge
VOLUME ["/data"]
EXPOSE 8080
# Liveness only (restart a stuck process); the balancer routes on /ready. The slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.RINGBRIDGE_PORT || 8080) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) drains: /ready turns 503, agents are told to reconnect elsewhere.
STOPSIGNAL SIGTERM
CMD ["node", "bin/ringbridge-bus.mjs"]
