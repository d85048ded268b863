#!/usr/bin/env bash
# The Kotlin/JVM tests against the real library: builds the issuer and tessera-ffi,
# regenerates the Kotlin bindings (bindings/generate.sh), runs `mvn test`.
#
#   bindings/kotlin/test.sh                         debug build (what CI runs)
#   TESSERA_PROFILE=release bindings/kotlin/test.sh -Dtest=FrameCostTest   release figures
#
# Extra arguments go to Maven. Needs Maven 3.8+ and a JDK 17+ on PATH; Maven fetches its
# plugins and the test dependencies from Maven Central on first use (~/.m2), and works
# offline (-o) after that.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in mvn java; do
  if ! command -v "$tool" >/dev/null; then
    echo "bindings/kotlin: '$tool' not found on PATH: the Kotlin tests need Maven 3.8+ and a JDK 17+" >&2
    exit 1
  fi
done

profile="${TESSERA_PROFILE:-debug}"
case "$profile" in
  debug) cargo build --locked -p tessera-issuer; bindings/generate.sh ;;
  release) cargo build --locked --release -p tessera-issuer; bindings/generate.sh --release ;;
  *) echo "TESSERA_PROFILE must be debug or release" >&2; exit 2 ;;
esac
# CARGO_TARGET_DIR may be relative to the workspace; Maven resolves paths from the pom.
tdir="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
mvn -B --no-transfer-progress -f bindings/kotlin/pom.xml test -Dtessera.profile="$profile" -Dtessera.target="$tdir" "$@"
