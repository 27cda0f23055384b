#!/usr/bin/env bash
# Copies the Swagger UI assets pinned in tools/package-lock.json into api/docsui/, where the
# server embeds them. With --check it only verifies the committed copies are identical.
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/swagger-ui-dist ] || npm ci --no-audit --no-fund --ignore-scripts >/dev/null
src=node_modules/swagger-ui-dist; dst=../api/docsui
for f in swagger-ui-bundle.js swagger-ui.css LICENSE NOTICE; do
  if [ "${1:-}" = "--check" ]; then
    cmp -s "$src/$f" "$dst/$f" || { echo "api/docsui/$f differs from swagger-ui-dist in tools/package-lock.json: run tools/docsui.sh"; exit 1; }
  else
    cp "$src/$f" "$dst/$f"
  fi
done
