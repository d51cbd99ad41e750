# syntax=docker/dockerfile:1
#
# image-builder-bot, the Slack bot (entry dist/index.js), on Node.js 24 LTS and Debian 12 "bookworm" (glibc).
#
#   docker build -t image-builder-bot \
#     --build-arg APP_VERSION="$(node -p "require('./package.json').version")" \
#     --build-arg VCS_REF="$(git rev-parse HEAD)" .
#   docker run -d --name image-builder-bot -p 3000:3000 -v image-builder-bot-data:/data \
#     -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e IMAGE_BUILDER_CLIENT_ID -e IMAGE_BUILDER_CLIENT_SECRET \
#     -e POLICY_FILE=open image-builder-bot
#
# Port 3000 carries /slack/events (HTTP mode) and is the only one to publish; 9090 serves /healthz, /readyz and
# /metrics for probes and Prometheus inside the cluster, unauthenticated, and is never to be published.
#
# The CLI is in the same image: docker run --rm -e IMAGE_BUILDER_OFFLINE_TOKEN image-builder-bot node dist/cli.js list
#
# Node.js is pinned to an exact release of the 24 LTS line, the same in both stages; move it with each 24.x security
# release (scripts/test-on-node24.sh runs the suite on the version written here, NODE_VERSION_OVERRIDE tries the
# next one first). better-sqlite3 13 is a Node-API module with prebuilt binaries inside its npm package: nothing is
# compiled, and the same binary loads on every Node it supports.
# scripts/verify-runtime-stage.sh checks the runtime stage's behaviour without Docker.
#
# The base is to be pinned by digest beside its tag (FROM node:<tag>@sha256:<index digest>, in both stages and the
# base.name label): a tag can be moved to other bits, a digest cannot. scripts/pin-base-image.sh asks Docker Hub for
# the tag's current digest and writes it; run it again to move Node or to take Debian's updates, and review the diff.

# --- build: compile TypeScript, then keep only the production dependencies ---------------------------------
FROM node:24.22.3-bookworm-slim AS build

WORKDIR /app

# No compilers: better-sqlite3's install takes the linux-x64 or linux-arm64 (glibc) binary its package ships, and
# npm downloads nothing else (no install scripts run).
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# tsc writes dist/, then scripts/bundle.cjs bundles the bot's entry, dist/index.js, into one file with the
# dependencies it imports (why, and what it gains: that script's header).
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/bundle.cjs ./scripts/
COPY src ./src
RUN npm run build

# Drop the dev dependencies, and fail the build if better-sqlite3's binary does not load on this Node and glibc.
RUN npm prune --omit=dev --no-audit --no-fund \
 && node -e "new (require('better-sqlite3'))(':memory:').close()"

# --- runtime: the same base, as a non-root user ---------------------------------------------------------------
FROM node:24.22.3-bookworm-slim AS runtime

# PID 1 is tini, which forwards SIGTERM/SIGINT to node and reaps zombies. The bot handles both signals itself
# (graceful shutdown), but as PID 1 node would ignore a SIGTERM that arrives before its handlers are installed
# (while the store opens and Slack answers auth.test), and `docker stop` would then wait for SIGKILL.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

# A fixed numeric UID (Kubernetes' runAsNonRoot can check it) in group 0. /data belongs to group 0 with the owner's
# rights (g=u), so OpenShift's arbitrary UID, which always runs in group 0, can write the database as well. This is
# done before VOLUME, which freezes /data. /app stays root's (COPY's default) and read-only to the bot: the process
# never needs to change its own code, and group 0 can read it like everyone else.
RUN useradd --uid 10001 --gid 0 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin image-builder-bot \
 && mkdir -p /data \
 && chown 10001:0 /data \
 && chmod u=rwx,g=u,o= /data

WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist

# V8 sizes its heap from the memory it may use and lets garbage pile up to several times what the bot keeps live, so
# the old space is capped at 60% of the container's memory: 153 MB of the README Deployment's 256Mi, the rest being
# node's own pages (~57 MB) and native memory (~25 MB). A share rather than a fixed size, so that the heap follows the
# Pod's limit when an operator changes it. A fixed 256 MB filled the 256Mi by itself: with 10,000 builds in flight on
# Node 24 the bot peaked at 276 MB resident; with the share, 257 MB (npm run bench, run within the Deployment's limit).
# Node 24's young generation also grows to ~30 MB and never shrinks back: 1000 builds in flight peaked at 251 MB and
# an idle bot sat at 135 MB; with 4 MB semi-spaces, 166 MB and 118 MB, and no more CPU per command (npm run bench).
# glibc raises its mmap threshold each time a large block is freed, so later large blocks come from a thread's arena
# instead, where freed memory stays whenever a live block sits above it. V8's compilers allocate and free many such
# blocks as the bot starts: an idle bot on Node 24 kept ~10 MB of them. Fixed at 32 KiB, those blocks are mapped on
# their own and go back to the system when freed: idle, 108 MB instead of 119; 1000 builds in flight peak at 152 MB
# instead of 170; CPU per command the same within the runs' spread (npm run bench). A fixed trim threshold alone
# helped one start in two.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-old-space-size-percentage=60 --max-semi-space-size=4" \
    GLIBC_TUNABLES=glibc.malloc.mmap_threshold=32768 \
    DATABASE_URL=sqlite:///data/image-builder-bot.sqlite \
    PORT=3000 \
    HEALTH_PORT=9090 \
    HEALTH_HOST=0.0.0.0

VOLUME /data
# HEALTH_HOST is every address here (the bot's own default is loopback): kubelet probes and Prometheus reach a pod
# on its own address, and a container's network is its own, so only what is published or routed is reachable.
EXPOSE 3000 9090

USER 10001:0

# slim images have no curl; node's own fetch asks the bot's health route, on whatever HEALTH_PORT it was given.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||9090)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/index.js"]

# Last, so that a new version or commit does not invalidate the cached layers above.
ARG APP_VERSION=unknown
ARG VCS_REF=unknown
LABEL org.opencontainers.image.title="image-builder-bot" \
      org.opencontainers.image.description="Order cloud OS images from Red Hat's hosted Image Builder without leaving Slack" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${APP_VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.base.name="docker.io/library/node:24.22.3-bookworm-slim"
