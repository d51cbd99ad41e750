#!/usr/bin/env bash
# Pins the Dockerfile's base image by digest beside its tag: asks Docker Hub for the digest the tag names now (the
# multi-platform index, so every architecture stays pinned) and writes `FROM node:<tag>@sha256:<digest>` in every
# stage and in the org.opencontainers.image.base.name label. A tag can be moved to other bits;
# a digest cannot, so a rebuild gets the base that was reviewed.
#
#   scripts/pin-base-image.sh                      # refresh the digest of the tag the Dockerfile names
#   scripts/pin-base-image.sh 24.18.2-bookworm-slim # move to another tag, pinned
#
# Run it when moving Node or to take Debian's security updates of the same tag, then review the diff and rebuild.
# Needs curl and node; contacts auth.docker.io and registry-1.docker.io only.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dockerfile="$repo/Dockerfile"

log() { printf 'pin-base-image: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

current_tag="$(sed -n 's/^FROM[[:space:]]\{1,\}node:\([^@[:space:]]*\).*/\1/p' "$dockerfile" | sort -u)"
[[ -n "$current_tag" && "$current_tag" != *$'\n'* ]] || fail "the Dockerfile's FROM lines should all name one node:<tag>"
tag="${1:-$current_tag}"
[[ "$tag" =~ ^[0-9]+\.[0-9]+\.[0-9]+-bookworm-slim$ ]] || fail "expected an exact tag such as 24.18.1-bookworm-slim, not: $tag"

log "asking Docker Hub for the digest of node:$tag"
token="$(curl -fsSL "https://auth.docker.io/token?service=registry.docker.io&scope=repository:library/node:pull" |
  node -e 'let s = ""; process.stdin.on("data", (c) => (s += c)).on("end", () => process.stdout.write(JSON.parse(s).token))')" ||
  fail "no token from auth.docker.io"
digest="$(curl -fsSI \
  -H "Authorization: Bearer $token" \
  -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' \
  "https://registry-1.docker.io/v2/library/node/manifests/$tag" |
  tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest:[[:space:]]*\(sha256:[0-9a-f]\{64\}\)$/\1/p')" ||
  fail "Docker Hub did not answer for node:$tag"
[[ -n "$digest" ]] || fail "Docker Hub gave no digest for node:$tag"

sed -i \
  -e "s|^\(FROM[[:space:]]\{1,\}\)node:[^[:space:]]*|\1node:$tag@$digest|" \
  -e "s|\(org\.opencontainers\.image\.base\.name=\"docker\.io/library/node:\)[^\"]*\"|\1$tag@$digest\"|" \
  "$dockerfile"
log "pinned node:$tag@$digest; review the diff, then rebuild"
