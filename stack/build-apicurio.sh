#!/usr/bin/env bash
# Resolves the Apicurio Registry server (a ready-to-run Quarkus package) from Maven Central into a
# cache keyed by version. `dependency:copy` then `tar`: `dependency:unpack` leaves a marker that
# makes a later run skip silently, even after the unpacked files were removed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
cache="${EVENTSUB_CACHE:-$HOME/.cache/eventsub}"
dir="$cache/apicurio-${APICURIO_VERSION}"
if [[ -f "$dir/.complete" ]]; then echo "[build] apicurio registry ${APICURIO_VERSION}: cached"; exit 0; fi
command -v mvn >/dev/null 2>&1 || { echo "error: 'mvn' not found on PATH: install Maven 3 (it resolves the Apicurio Registry package)" >&2; exit 1; }
echo "[build] apicurio registry ${APICURIO_VERSION}: resolving the package with Maven"
rm -rf "$dir"; mkdir -p "$dir/download"
mvn -B -q dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all" \
  -DoutputDirectory="$dir/download" -Dmdep.overWriteReleases=true
archive="$(ls "$dir"/download/*.tar.gz)"
mkdir -p "$dir/app"
tar -xzf "$archive" -C "$dir/app"
rm -rf "$dir/download"
# The archive may wrap everything in one top-level directory: record where quarkus-run.jar is.
jar="$(find "$dir/app" -name quarkus-run.jar -print -quit)"
[[ -n "$jar" ]] || { echo "error: quarkus-run.jar not found in the Apicurio Registry package" >&2; exit 1; }
touch "$dir/.complete"
echo "[build] apicurio registry ${APICURIO_VERSION}: $(du -sh "$dir/app" | cut -f1) unpacked"
