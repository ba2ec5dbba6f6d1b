#!/usr/bin/env bash
# Resolves the Kafka broker and tools jars from Maven Central into a cache keyed by version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
cache="${EVENTSUB_CACHE:-$HOME/.cache/eventsub}"
libs="$cache/kafka-${KAFKA_VERSION}-log4j-${LOG4J_VERSION}-slf4j-${SLF4J_VERSION}/libs"
if [[ -f "$libs/.complete" ]]; then echo "[build] kafka ${KAFKA_VERSION}: cached"; exit 0; fi
command -v mvn >/dev/null 2>&1 || { echo "error: 'mvn' not found on PATH: install Maven 3 (it resolves the Kafka jars)" >&2; exit 1; }
command -v java >/dev/null 2>&1 || { echo "error: 'java' not found on PATH: install a Java 17+ runtime (it runs the Kafka broker)" >&2; exit 1; }
echo "[build] kafka ${KAFKA_VERSION}: resolving jars with Maven"
rm -rf "$libs"; mkdir -p "$libs"
mvn -B -q -f "$here/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs"
touch "$libs/.complete"
echo "[build] kafka ${KAFKA_VERSION}: $(ls "$libs" | wc -l) jars"
