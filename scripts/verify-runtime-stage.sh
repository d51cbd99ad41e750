#!/usr/bin/env bash
# Checks what the Dockerfile's runtime stage does, without Docker. In a scratch folder: the production dependencies
# installed from the lockfile (better-sqlite3's prebuilt binary, as in the build stage) beside the built dist/,
# run by the Node.js release of the Dockerfile's FROM lines, with the image's environment, and as its USER when
# this runs as root. The bot must answer GET /healthz, create its SQLite file in the data folder, and exit 0 soon
# after SIGTERM.
#
#   scripts/verify-runtime-stage.sh
#   NODE_VERSION_OVERRIDE=24.22.0 scripts/verify-runtime-stage.sh     # try a candidate Node release
#
# It uses dist/ as it is (builds it only when missing: run `npm run build` first after changing src/). Slack is a
# fake on loopback; nothing but the npm registry (for the install) is contacted.
set -euo pipefail

readonly HEALTHY_WITHIN_S=30 STOPPED_WITHIN_S=10

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'verify-runtime-stage: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }
checked() { log "ok: $*"; }

# The image's `USER uid:gid`.
runtime_user="$(sed -n 's/^USER[[:space:]]\{1,\}\([0-9]\{1,\}:[0-9]\{1,\}\)[[:space:]]*$/\1/p' "$repo/Dockerfile" | tail -n 1)"
[[ -n "$runtime_user" ]] || fail "the Dockerfile has no numeric USER uid:gid"
RUNTIME_UID="${runtime_user%:*}"
RUNTIME_GID="${runtime_user#*:}"

# The value of the Dockerfile's last `NAME=value` or `NAME="value"` (its runtime stage's ENV), empty when unset.
image_env() {
  sed -n "s/^[[:space:]]*\(ENV[[:space:]]\{1,\}\)\{0,1\}$1=\"\{0,1\}\([^\"]*[^\" \\]\)\"\{0,1\}[[:space:]\\]*$/\2/p" \
    "$repo/Dockerfile" | tail -n 1
}
node_options="$(image_env NODE_OPTIONS)"
glibc_tunables="$(image_env GLIBC_TUNABLES)"
[[ -n "$node_options" ]] || fail "the Dockerfile sets no NODE_OPTIONS"

# --- the image's Node.js, cached outside the repo (the cache scripts/lib/image-node.sh keeps) --------------
# shellcheck source=scripts/lib/image-node.sh
source "$repo/scripts/lib/image-node.sh"
use_image_node
node="$node_home/bin/node"

# --- scratch folder, cleaned up on every exit path ----------------------------------------------------------
scratch="$(mktemp -d)"
bot_pid=''
slack_pid=''
# shellcheck disable=SC2317 # run by the EXIT trap, which shellcheck 0.9 does not follow
clean_up() {
  local status=$?
  trap - EXIT
  local pid
  for pid in $bot_pid $slack_pid; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 && -s "$scratch/bot.log" ]]; then
    log "the bot's output:"
    tail -n 40 "$scratch/bot.log" >&2
  fi
  rm -rf "$scratch"
  exit "$status"
}
trap clean_up EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
started=$SECONDS

# --- the runtime stage's files: package.json, production node_modules, dist/ --------------------------------
if [[ ! -f "$repo/dist/index.js" ]]; then
  log "dist/ is missing: npm run build"
  (cd "$repo" && npm run build >&2)
fi
app="$scratch/app"
data="$scratch/data"
mkdir -p "$app"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
cp -R "$repo/dist" "$app/dist"

log "npm ci --omit=dev with Node.js $node_version"
(
  cd "$app"
  PATH="$node_home/bin:$PATH" npm ci --omit=dev --no-audit --no-fund >&2
)
installed_at=$SECONDS
for dev_only in typescript jest eslint @swc/core dockerfile-ast; do
  [[ ! -e "$app/node_modules/$dev_only" ]] || fail "the production install contains the dev dependency $dev_only"
done
checked "production install from the lockfile, no dev dependencies ($((installed_at - started)) s)"
(cd "$app" && "$node" -e "new (require('better-sqlite3'))(':memory:').close()") ||
  fail "better-sqlite3 does not load in Node.js $node_version"
checked "better-sqlite3 loads in Node.js $node_version"

# As in the image: the app is root's and read-only to the bot, the data folder belongs to the bot in group 0.
mkdir -p "$data"
run_as=()
if [[ $(id -u) -eq 0 ]]; then
  chmod 0755 "$scratch"
  chown "$RUNTIME_UID:$RUNTIME_GID" "$data"
  chmod u=rwx,g=u,o= "$data"
  run_as=(setpriv --reuid="$RUNTIME_UID" --regid="$RUNTIME_GID" --clear-groups --)
  runs_as="UID $RUNTIME_UID, GID $RUNTIME_GID"
else
  runs_as="$(id -un) (not root, so not the image's UID $RUNTIME_UID)"
fi

# --- a fake Slack Web API on loopback: auth.test answers as a bot, every other method says ok ---------------
# shellcheck disable=SC2016 # JavaScript, not shell
"$node" -e '
  const http = require("node:http");
  const fs = require("node:fs");
  const [portFile, callsFile] = process.argv.slice(1);
  const server = http.createServer((req, res) => {
    req.resume().on("end", () => {
      fs.appendFileSync(callsFile, `${req.method} ${req.url}\n`);
      const authTest = req.method === "POST" && req.url.startsWith("/api/auth.test");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(authTest ? { ok: true, user_id: "UBOT", bot_id: "BBOT", team_id: "T1" } : { ok: true }));
    });
  });
  server.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(server.address().port)));
' "$scratch/slack.port" "$scratch/slack.calls" &
slack_pid=$!
for _ in $(seq 50); do [[ -s "$scratch/slack.port" ]] && break; sleep 0.1; done
[[ -s "$scratch/slack.port" ]] || fail "the fake Slack API did not start"
slack_port="$(cat "$scratch/slack.port")"

free_port() { "$node" -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
bot_port="$(free_port)"
health_port="$(free_port)"

# --- start the bot with the image's environment (and nothing from this shell's) -----------------------------
log "starting node dist/index.js on port $bot_port (health on $health_port) as $runs_as"
(
  cd "$app"
  exec env -i \
    PATH="$node_home/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    HOME=/nonexistent \
    NODE_ENV=production \
    NODE_OPTIONS="$node_options" \
    GLIBC_TUNABLES="$glibc_tunables" \
    DATABASE_URL="sqlite://$data/image-builder-bot.sqlite" \
    PORT="$bot_port" \
    HEALTH_PORT="$health_port" \
    HEALTH_HOST=0.0.0.0 \
    POLICY_FILE=open \
    SLACK_BOT_TOKEN=xoxb-verify-runtime-stage \
    SLACK_SIGNING_SECRET=verify-runtime-stage-signing-secret \
    SLACK_API_URL="http://127.0.0.1:$slack_port/api/" \
    IMAGE_BUILDER_URL="http://127.0.0.1:$slack_port/api/image-builder/v1" \
    IMAGE_BUILDER_TOKEN_URL="http://127.0.0.1:$slack_port/token" \
    IMAGE_BUILDER_OFFLINE_TOKEN=verify-runtime-stage-offline-token \
    "${run_as[@]}" node dist/index.js
) >"$scratch/bot.log" 2>&1 &
bot_pid=$!
launched_at=$SECONDS

# The Dockerfile's own HEALTHCHECK (`node -e <script>`), so a slip in that script shows here.
# shellcheck disable=SC2016 # JavaScript, not shell
healthcheck_script="$("$node" -e '
  const text = require("node:fs").readFileSync(process.argv[1], "utf8").replace(/\\\n/g, " ");
  const command = JSON.parse(/^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$/m.exec(text)[1]);
  if (command[0] !== "node" || command[1] !== "-e") throw new Error("the HEALTHCHECK is not node -e");
  process.stdout.write(command[2]);
' "$repo/Dockerfile")" || fail "no HEALTHCHECK CMD [\"node\", \"-e\", …] in the Dockerfile"
healthy() { HEALTH_PORT="$health_port" "$node" -e "$healthcheck_script"; }
until healthy; do
  kill -0 "$bot_pid" 2>/dev/null || { wait "$bot_pid" || true; fail "the bot exited before it was healthy"; }
  ((SECONDS - launched_at < HEALTHY_WITHIN_S)) || fail "GET /healthz did not answer 200 within $HEALTHY_WITHIN_S s"
  sleep 0.5
done
checked "GET /healthz answered 200, $((SECONDS - launched_at)) s after start"

grep -q '^POST /api/auth.test' "$scratch/slack.calls" || fail "the bot did not call auth.test on the fake Slack API"
checked "the bot called auth.test on the fake Slack API (and no real Slack)"

database="$data/image-builder-bot.sqlite"
[[ -s "$database" ]] || fail "no SQLite database at DATABASE_URL ($database)"
checked "the SQLite database was created under the data folder, owned by UID $(stat -c %u "$database") GID $(stat -c %g "$database")"
if ((${#run_as[@]})); then
  [[ "$(stat -c %u "$database")" == "$RUNTIME_UID" ]] || fail "the database is not owned by UID $RUNTIME_UID"
fi

# --- SIGTERM: a graceful stop with exit status 0 -------------------------------------------------------------
kill -TERM "$bot_pid"
term_at=$SECONDS
while kill -0 "$bot_pid" 2>/dev/null; do
  ((SECONDS - term_at < STOPPED_WITHIN_S)) || fail "the bot was still running $STOPPED_WITHIN_S s after SIGTERM"
  sleep 0.2
done
bot_status=0
wait "$bot_pid" || bot_status=$?
bot_pid=''
[[ $bot_status -eq 0 ]] || fail "the bot exited with status $bot_status after SIGTERM"
checked "after SIGTERM the bot exited 0 within $((SECONDS - term_at)) s"
grep -q 'shutting down' "$scratch/bot.log" || fail "the bot did not log its graceful shutdown"

if grep -q 'Assertion failed' "$scratch/bot.log"; then
  fail "Node.js reported a failed assertion"
fi

log "the runtime stage works on Node.js $node_version (install $((installed_at - started)) s, whole check $((SECONDS - started)) s)"
