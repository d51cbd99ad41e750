#!/usr/bin/env bash
# Runs the test suite on the Node.js release the container image ships (the Dockerfile's FROM lines), in the same
# work tree: better-sqlite3 is a Node-API module, so the binary npm ci put there loads on this Node as well.
#
#   scripts/test-on-node24.sh [jest arguments…]
#   NODE_VERSION_OVERRIDE=24.23.0 scripts/test-on-node24.sh     # try a candidate before moving the Dockerfile to it
set -euo pipefail

# The Node.js major this script stands for; test/dockerfile.test.ts checks that the Dockerfile uses the same.
readonly NODE_MAJOR=24

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'test-on-node24: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# shellcheck source=scripts/lib/image-node.sh
source "$repo/scripts/lib/image-node.sh"

node_version="${NODE_VERSION_OVERRIDE:-$(image_node_version)}"
[[ "$node_version" == "$NODE_MAJOR".* ]] || fail "Node.js $node_version is not a $NODE_MAJOR.x release"
[[ -d "$repo/node_modules/better-sqlite3" ]] || fail "$repo/node_modules/better-sqlite3 is missing: run npm ci first"

started=$SECONDS
use_image_node
export PATH="$node_home/bin:$PATH"
[[ "$(node --version)" == "v$node_version" ]] || fail "node on PATH is $(node --version), not v$node_version"
(cd "$repo" && node -e "new (require('better-sqlite3'))(':memory:').close()") ||
  fail "better-sqlite3 does not load in Node.js $node_version"
installed_at=$SECONDS

log "npm test on $(node --version), npm $(npm --version)"
test_status=0
(cd "$repo" && npm test -- "$@") || test_status=$?

log "timings: Node.js install $((installed_at - started)) s, tests $((SECONDS - installed_at)) s"
if [[ $test_status -eq 0 ]]; then
  log "the test suite passed on Node.js $node_version"
else
  log "the test suite FAILED on Node.js $node_version (exit $test_status)"
fi
exit "$test_status"
