#!/usr/bin/env bash
# `make compose-test`: the whole stack of docker-compose.yml in containers, on the local images
# (`make images` first), and the tests marked `compose` (tests/compose) against it:
#   - builds pe-insight's image (docker compose build), starts the stack with `up --wait` under a project
#     name of its own (its own network, volumes and containers; ports published on 127.0.0.1 only, on
#     free ports), so it never meets another compose project or `make run` on this machine;
#   - runs pytest -m compose with PE_BASE_URL (the API through nginx), PE_MAIL_API (the mail sink's API)
#     and PE_COMPOSE_PROJECT set;
#   - always ends with `docker compose down -v`, also when a test or the start fails.
# Every step's wall time is printed at the end.
#
#   COMPOSE_TEST_PROJECT   project name (default pe-insight-compose-test)
#   COMPOSE_TEST_PROFILE   a compose profile to run as well (ha: the three-node RabbitMQ cluster)
#   PYTEST_ARGS            passed to pytest (e.g. "-k killing"); a test may take up to 15 min (--timeout 900)
set -euo pipefail
cd "$(dirname "$0")/../.."

VENV=${VENV:-.venv}
PROJECT=${COMPOSE_TEST_PROJECT:-pe-insight-compose-test}
ENV_FILES=(deploy/images/local.env)
PROFILE_ARGS=()
# Without the ha profile every compose test but those of the cluster (tests/compose/ha); with it,
# those only.
TESTS=(tests/compose --ignore=tests/compose/ha)
if [ "${COMPOSE_TEST_PROFILE:-}" = ha ]; then
  ENV_FILES+=(deploy/compose/ha.env)
  PROFILE_ARGS=(--profile ha)
  TESTS=(tests/compose/ha)
fi
compose() {
  local files=()
  for f in "${ENV_FILES[@]}"; do files+=(--env-file "$f"); done
  docker compose -p "$PROJECT" "${files[@]}" "${PROFILE_ARGS[@]}" "$@"
}

free_port() { "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export PE_API_PORT=$(free_port) PE_MAIL_PORT=$(free_port) PE_RABBITMQ_PORT=$(free_port) PE_PROMETHEUS_PORT=$(free_port)

timings=()
step_started=$SECONDS
step() { timings+=("$1 $((SECONDS - step_started)) s"); step_started=$SECONDS; }
started=$SECONDS

finish() {
  local status=$?
  if [ "$status" -ne 0 ]; then
    mkdir -p var/compose-test
    compose ps -a >var/compose-test/ps.txt 2>&1 || true
    compose logs --no-color --timestamps >var/compose-test/logs.txt 2>&1 || true
    echo "compose-test: failed; containers and logs in var/compose-test/" >&2
  fi
  compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1 || true
  step down
  echo "compose-test: ${timings[*]}; in all $((SECONDS - started)) s (exit $status)"
  exit "$status"
}
trap finish EXIT

compose down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
compose build --quiet
step build
compose up --detach --wait --wait-timeout 300 --quiet-pull
step up

PE_BASE_URL=http://127.0.0.1:$PE_API_PORT PE_MAIL_API=http://127.0.0.1:$PE_MAIL_PORT PE_COMPOSE_PROJECT=$PROJECT \
  PE_COMPOSE_ENV_FILES=$(IFS=:; echo "${ENV_FILES[*]}") \
  "$VENV/bin/python" -m pytest "${TESTS[@]}" -m compose -p no:cacheprovider -s --timeout 900 ${PYTEST_ARGS:-}
step tests
