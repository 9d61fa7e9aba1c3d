# syntax=docker/dockerfile:1
#
# One image for every process type (factor V): `docker build -t 12factor-app:v1.0 .`, then
#   web      docker run 12factor-app:v1.0                                (the CMD below)
#   release  docker run 12factor-app:v1.0 node dist/processes/admin.js migrate
#   admin    docker run 12factor-app:v1.0 node dist/processes/admin.js doctor app
# Config comes from the environment at run time, never from here (factor III).
# test/deploy/image.podman.ts builds this file with podman and runs the image (README: "How these
# files are tested").
#
# npm behind a proxy that re-signs TLS: pass your CA bundle and npm config as build secrets, never
# as files in a layer: `--secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
# --secret id=npmrc,src=$HOME/.npmrc` (BuildKit and podman alike). Both are optional.

FROM node:24-slim AS base
WORKDIR /app

# Build: every dependency (the compilers are dev dependencies), then the compiled output in dist/.
# --ignore-scripts: `prepare` would build before the sources are here; the native addon is not
# needed to compile.
FROM base AS build
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; fi; \
    npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm run build

# Production dependencies only. better-sqlite3 ships prebuilt addons: no install script runs
# (its binding.gyp would compile SQLite, and this image has no compiler). Only this platform's
# addon stays, without the SQLite sources; loading it proves it matches this Node.js.
FROM base AS deps
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    --mount=type=secret,id=npmrc,target=/root/.npmrc \
    --mount=type=secret,id=ca \
    if [ -f /run/secrets/ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca npm_config_cafile=/run/secrets/ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund
RUN cd node_modules/better-sqlite3 \
    && addon="prebuilds/$(node -p 'process.platform + "-" + process.arch').node" \
    && test -f "$addon" \
    && find prebuilds -type f ! -path "$addon" -delete \
    && rm -rf binding.gyp build deps src \
    && node -e "require('better-sqlite3')(':memory:').prepare('select 1').get()"

# Run: production dependencies and compiled code, owned by root and so read-only to the app's
# user. The only writable place is /app/data, for the embedded store: mount a volume there
# (`-v 12f-data:/app/data`) when the store is SQLite; PostgreSQL- and MongoDB-backed processes
# need none, so the image declares no VOLUME that would give each of them an anonymous one.
FROM base AS runtime
ARG VERSION=1.0.0
ARG GIT_COMMIT
ARG BUILD_TIME
# What is known without build arguments; CI adds revision, created and source with --label
# (README: "Build the image"), so a plain build carries no empty label.
LABEL org.opencontainers.image.title="12factor-app" \
      org.opencontainers.image.description="The tutorial's user REST API, production-grade" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="docker.io/library/node:24-slim"
ENV NODE_ENV=production \
    GIT_COMMIT=${GIT_COMMIT} \
    BUILD_TIME=${BUILD_TIME}
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/data && chown 1000:1000 /app/data
# The base image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 1337
# node as PID 1 receives SIGTERM itself and drains (src/processes/shutdown.ts); never `npm start`.
# The Procfile's web command. The flag caps V8's young generation, which otherwise grows with the
# host's memory: about 80 MB more RSS under load, for no throughput. The web process limits the old
# generation's growth itself once it listens (README).
CMD ["node", "--max-semi-space-size=8", "dist/processes/web.js"]
