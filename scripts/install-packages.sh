#!/usr/bin/env bash
# Install the npm packages from package-lock.json when node_modules is missing or older
# than the lock file. Used by npm start, npm test, npm run bench and npm run loadtest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm packages..."
  npm ci --no-audit --no-fund
fi
