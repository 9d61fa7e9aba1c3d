# syntax=docker/dockerfile:1
#
# One image for every process type (factor V): `docker build -t 12factor-app:v1.0 .`, then
#   web      docker run 12factor-app:v1.0                                (the CMD below)
#   release  docker run 12factor-app:v1.0 node dist/processes/migrate.js
#   admin    docker run 12factor-app:v1.0 node dist/processes/admin.js doctor app
# Config comes from the environment at run time, never from here (factor III).
# test/deploy/image.test.ts replays these steps without a Docker engine: keep to FROM, ARG, ENV,
# WORKDIR, COPY, RUN (npm, mkdir, chown only), LABEL, USER, VOLUME, EXPOSE and an exec-form CMD.

FROM node:24-slim AS base
WORKDIR /app

# Build: every dependency (the compilers are dev dependencies), then the compiled output in dist/.
# --ignore-scripts: `prepare` would build before the sources are here; the native addon is not
# needed to compile.
FROM base AS build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only; better-sqlite3 is the one package whose install script matters
# (npm 11 runs it only when package.json's allowScripts lets it).
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3

# Run: production dependencies and compiled code, owned by root and so read-only to the app's
# user. The only writable place is the embedded store's directory, a volume.
FROM base AS runtime
ARG VERSION=1.0.0
ARG GIT_COMMIT
ARG BUILD_TIME
ARG SOURCE_URL
LABEL org.opencontainers.image.title="12factor-app" \
      org.opencontainers.image.description="The tutorial's user REST API, production-grade" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.created="${BUILD_TIME}" \
      org.opencontainers.image.source="${SOURCE_URL}"
ENV NODE_ENV=production \
    GIT_COMMIT=${GIT_COMMIT} \
    BUILD_TIME=${BUILD_TIME}
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown 1000:1000 /app/data
# The base image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/app/data"]
EXPOSE 1337
# node as PID 1 receives SIGTERM itself and drains (src/processes/shutdown.ts); never `npm start`.
# The Procfile's web command. The flag caps V8's young generation, which otherwise grows with the
# host's memory: about 80 MB more RSS under load, for no throughput (README, bench/README.md).
CMD ["node", "--max-semi-space-size=8", "dist/processes/web.js"]
