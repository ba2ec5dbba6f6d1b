#!/usr/bin/env bash
# Installs the official AsyncAPI parser (tests/asyncapi: package.json, package-lock.json and the
# script that runs it) into a cache keyed by its version, outside the repository; the tests
# validate the catalog's AsyncAPI document with it. Prints the directory it installed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$here/../tests/asyncapi"
cache="${EVENTSUB_CACHE:-$HOME/.cache/eventsub}"
command -v node >/dev/null 2>&1 || { echo "error: 'node' not found on PATH: install Node.js 18+ (it runs the AsyncAPI parser in the tests)" >&2; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "error: 'npm' not found on PATH: install npm (it installs the AsyncAPI parser for the tests)" >&2; exit 1; }
version="$(node -p "require('$source_dir/package.json').dependencies['@asyncapi/parser']")"
target="$cache/asyncapi-parser-$version"
# The lock file is the key within a version: a changed lock installs again.
if [[ -f "$target/.complete" ]] && cmp -s "$source_dir/package-lock.json" "$target/package-lock.json"; then
  cp "$source_dir/validate.js" "$target/validate.js"
  echo "[build] asyncapi parser $version: cached" >&2
  echo "$target"; exit 0
fi
echo "[build] asyncapi parser $version: npm ci" >&2
rm -rf "$target"; mkdir -p "$target"
cp "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/validate.js" "$target/"
# No install scripts: nothing in it needs one (one dependency's would only send usage reports).
(cd "$target" && SCARF_ANALYTICS=false npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
touch "$target/.complete"
echo "[build] asyncapi parser $version: installed in $target" >&2
echo "$target"
