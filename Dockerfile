FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY common common
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY clients clients
COPY local local
COPY bin bin
COPY docs docs
# The Temporal Web UI app, built by the prepare script (ui/build.mjs).
COPY ui ui
# npm ci runs the prepare script, which compiles to dist/.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev && rm -rf ui/node_modules ui/.svelte-kit
ENV NODE_ENV=production
# The SDK turns SIGTERM into a graceful drain of in-flight activities.
STOPSIGNAL SIGTERM
CMD ["node", "bin/mlops", "start"]
