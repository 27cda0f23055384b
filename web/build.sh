#!/usr/bin/env bash
# Builds the reference web client (web/src -> web/dist, which is committed and embedded by
# web.go) with the npm toolchain pinned in web/package-lock.json, after type-checking it and
# running its unit tests (test/).
# With --check it builds into a temporary directory instead and fails when that differs from
# the committed web/dist (run web/build.sh and commit).
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/esbuild ] || npm ci --no-audit --no-fund --ignore-scripts >/dev/null
npx --no-install tsc -p .
node --test --test-reporter=dot test/
if [ "${1:-}" = "--check" ]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
  node build.mjs "$out"
  if ! diff -r "$out" dist >/dev/null; then
    echo "web/dist is stale: it differs from a build of web/src (run web/build.sh and commit):"
    diff -r "$out" dist | head -40 || true
    exit 1
  fi
else
  node build.mjs dist
fi
