#!/bin/sh
# Rebuild the vendored browser bundle(s) from the pinned npm packages.
# The output in docflow/static/vendor/ is committed: running docflow never needs npm.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node build.mjs
