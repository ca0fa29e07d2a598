# The image every mlops service of docker-compose.yml runs (`mlops worker`, `mlops gateway`, `mlops emulator`), and
# `docker run IMAGE` alone runs `mlops start`. The Node image is pinned in .env (NODE_IMAGE) and passed as a build arg.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# Production dependencies only, exactly as the lockfile pins them. No install script runs: package.json's allowScripts
# denies the three that exist, whose platform binaries come as optional dependencies instead.
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Every dependency, to compile the TypeScript to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY common common
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY clients clients
COPY local local
RUN npm run build
# The Temporal Web UI app (ui/build.mjs: ui/'s own locked dependencies, then vite).
COPY ui ui
RUN node ui/build.mjs

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY --from=build /app/ui/build ui/build
# docs/recovery holds the EventBridge rule pattern the emulator's events are filtered with.
COPY package.json ./
COPY bin bin
COPY docs docs
# State of `mlops emulator --state-dir /data/...` (a volume in docker-compose.yml), writable by the unprivileged user.
RUN mkdir -p /data && chown node:node /data
USER node
ENTRYPOINT ["node", "/app/bin/mlops"]
CMD ["start"]
# The SDK turns SIGTERM into a graceful drain of in-flight activities.
STOPSIGNAL SIGTERM
# A round trip through Temporal, a worker and an activity (docker-compose.yml gives each service its own check).
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 CMD ["node", "/app/bin/mlops", "ping"]
