#!/usr/bin/env bash
# Run every test: unit and integration tests of the backend (real Pyodide, isolated-vm,
# SQLite and Docker engine) and the browser tests (Playwright in Debian's Chromium).
# Installs what the tests need when it is missing: npm packages, Chromium, the Docker
# engine and the sandbox image. REQUIRE_DOCKER_TESTS=1 (set by CI) turns a Docker
# engine that cannot be started into a failure instead of skipped Docker tests.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

step "npm packages"
bash scripts/install-packages.sh

step "Chromium for the browser tests"
if [ ! -x /usr/bin/chromium ]; then
  if ! { as_root apt-get update -q && as_root apt-get install -y -q --no-install-recommends chromium; }; then
    echo "Chromium is missing and could not be installed; install Debian's chromium package (needs root)." >&2
    exit 1
  fi
fi
/usr/bin/chromium --version

step "Docker engine and sandbox image"
if bash scripts/docker-engine.sh; then
  export DOCKER_TESTS=1
elif [ "${REQUIRE_DOCKER_TESTS:-0}" = "1" ]; then
  echo "The Docker engine or the sandbox image is not available, and REQUIRE_DOCKER_TESTS=1." >&2
  exit 1
else
  echo "Docker-mode tests will be skipped: no Docker engine could be started (needs root)."
fi

step "Build"
npm run build

step "Backend unit and integration tests"
(cd apps/backend && npx vitest run)

step "Editor unit tests"
npm test -w apps/editor

step "Browser tests"
(cd e2e && npx playwright test)

if [ "${DOCKER_TESTS:-0}" = "1" ]; then
  step "No sandbox container left behind"
  leftover=$(docker ps -a --filter label=policy-logic-studio.sandbox --format '{{.ID}} {{.Status}}')
  if [ -n "$leftover" ]; then
    echo "Sandbox containers are still present after the tests:" >&2
    echo "$leftover" >&2
    exit 1
  fi
  echo "none"
fi
