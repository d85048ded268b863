#!/usr/bin/env bash
# The Kotlin/JVM tests against the real library: builds the issuer and tessera-ffi,
# regenerates the Kotlin bindings (bindings/generate.sh), runs the tests (debug library),
# packages the jar with the release-smaller library (stripped) as a JNA resource and
# installs it into the local Maven repository (~/.m2: `mvn install`), then builds and runs
# consumer-test/, a project whose only dependency is that installed artifact (a frame,
# gate verdicts).
#
#   bindings/kotlin/test.sh                         debug build (what CI runs)
#   TESSERA_PROFILE=release bindings/kotlin/test.sh -Dtest=FrameCostTest   release figures
#
# Extra arguments go to the main project's Maven run (the consumer gets only -o). Needs
# Maven 3.8+ and a JDK 17+ on PATH; Maven fetches its plugins and the dependencies from
# Maven Central on first use (~/.m2), and works offline (-o) after that: `mvn -o package`
# included.
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

# The jar carries the profile apps ship, release-smaller (the README test command's Python
# wheel step has built it already: then this is a no-op), stripped like build-release.sh's
# (7.7 MB → 5.4 MB; JNA needs only the dynamic symbols, which strip keeps). A copy: the one
# in target/ keeps the metadata uniffi-bindgen reads. The Kotlin source generated from the
# debug build fits it: same code, and it checks every checksum when the library loads.
cargo build --locked -p tessera-ffi --lib --profile release-smaller
case "$(uname -s)" in
  Darwin) libfile=libtessera_ffi.dylib; strip_args=(-x) ;;
  *) libfile=libtessera_ffi.so; strip_args=() ;;
esac
native="$tdir/tessera-ffi/jvm"
mkdir -p "$native"
cp "$tdir/release-smaller/$libfile" "$native/$libfile.tmp.$$"
if command -v strip >/dev/null; then
  strip ${strip_args[@]+"${strip_args[@]}"} "$native/$libfile.tmp.$$"
else
  echo "bindings/kotlin: no strip on PATH: the jar carries the unstripped library" >&2
fi
mv -f "$native/$libfile.tmp.$$" "$native/$libfile"   # renamed over: see generate.sh

# `clean`: classes of a type that moved package (issue 11: dev.tessera.core, .gate) would
# otherwise stay in target/classes and shadow the new ones in same-package lookups.
mvn -B --no-transfer-progress -f bindings/kotlin/pom.xml clean install -Dtessera.profile="$profile" \
  -Dtessera.target="$tdir" -Dtessera.native.dir="$native" "$@"

version=$(sed -n 's:^  <version>\(.*\)</version>$:\1:p' bindings/kotlin/pom.xml | head -n 1)
jar="bindings/kotlin/target/tessera-$version.jar"
echo "bindings/kotlin: $jar ($(wc -c < "$jar") bytes) carries:"
if command -v unzip >/dev/null; then
  unzip -l "$jar" | grep -E 'tessera_ffi\.(so|dylib|dll)$'
else
  jar tf "$jar" | grep -E 'tessera_ffi\.(so|dylib|dll)$'
fi

# The consumer: a separate build that sees only the installed artifact. No
# jna.library.path, no java.library.path, no LD_LIBRARY_PATH: JNA must take the library
# from the jar (Main.kt checks where it came from).
offline=()
for a in "$@"; do case "$a" in -o | --offline) offline=(-o) ;; esac; done
env -u LD_LIBRARY_PATH -u DYLD_LIBRARY_PATH mvn -B --no-transfer-progress ${offline[@]+"${offline[@]}"} \
  -f bindings/kotlin/consumer-test/pom.xml clean verify \
  -Dtessera.version="$version" -Dtessera.issuer="$tdir/$profile/tessera-issuer"
