#!/usr/bin/env bash
# Start Policy Logic Studio with the defaults in .env.defaults: install the npm
# packages when they are missing, build when a source is newer than the build, then
# run the backend, which also serves the editor. PORT and DATA_DIR override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-packages.sh

newest_source=$(find packages/shared/src apps/backend/src apps/editor/src apps/editor/index.html -type f -newer apps/backend/dist/main.js 2>/dev/null | head -n 1 || true)
if [ ! -f apps/backend/dist/main.js ] || [ ! -f apps/editor/dist/index.html ] || [ -n "$newest_source" ]; then
  echo "Building..."
  npm run build --silent
fi

exec node --no-node-snapshot apps/backend/dist/main.js
