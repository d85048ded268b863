#!/usr/bin/env bash
# Builds the tessera-ffi library and regenerates the Kotlin, Python and Swift bindings
# from it with the workspace's own uniffi-bindgen (same UniFFI version as the library).
#
#   bindings/generate.sh              debug build (default)
#   bindings/generate.sh --release    release build
#   bindings/generate.sh --profile P  any cargo profile (e.g. release-smaller)
#
# Library mode reads the exported API from metadata symbols in the built library, so it
# must be an UNSTRIPPED build: generate first, strip copies afterwards (a profile with
# `strip = true` would remove the metadata; ours strip debug info only).
#
# Writes:
#   bindings/python/tessera/tessera_ffi.py + the library next to it
#   bindings/kotlin/src/main/kotlin/dev/tessera/tessera_ffi.kt
#   bindings/swift/Sources/Tessera/Tessera.swift
#   bindings/swift/Sources/TesseraFFI/include/{TesseraFFI.h,module.modulemap}
set -euo pipefail
cd "$(dirname "$0")/.."

profile=dev
outdir=debug
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release; outdir=release ;;
    --profile)
      [ $# -ge 2 ] || { echo "--profile needs a name" >&2; exit 2; }
      profile="$2"; shift
      case "$profile" in dev) outdir=debug ;; *) outdir="$profile" ;; esac ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

case "$(uname -s)" in
  Darwin) libfile=libtessera_ffi.dylib ;;
  MINGW*|MSYS*|CYGWIN*) libfile=tessera_ffi.dll ;;
  *) libfile=libtessera_ffi.so ;;
esac

# The generator first: building it enables the `cli` feature on the crate, which also
# rebuilds the library; the library build below then puts the plain one back.
cargo build --locked -p tessera-ffi --features cli --bin uniffi-bindgen
cargo build --locked -p tessera-ffi --lib --profile "$profile"

tdir="${CARGO_TARGET_DIR:-target}"
lib="$tdir/$outdir/$libfile"
bindgen="$tdir/debug/uniffi-bindgen"
[ -f "$lib" ] || { echo "no library at $lib" >&2; exit 1; }

# Replaces a file by renaming a fresh copy over it: a process that has the old library
# mapped (a test run, the Kotlin tests) keeps its pages instead of dying of SIGBUS, as it
# would if `cp` rewrote the file in place; readers never see a half-written file.
install_file() { # source destination
  cp "$1" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}

generate() { # language out-dir
  # --no-format: ktlint and swift-format are not required, and the output stays the
  # same on every machine. --config: binding names live in the workspace uniffi.toml.
  "$bindgen" generate --no-format --config bindings/uniffi-paths.toml \
    --language "$1" --out-dir "$2" "$lib"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate python "$tmp/python"
generate kotlin "$tmp/kotlin"
generate swift "$tmp/swift"

# Python: the module and the library side by side; the module loads the library from
# its own directory.
install_file "$tmp/python/tessera_ffi.py" bindings/python/tessera/tessera_ffi.py
install_file "$lib" "bindings/python/tessera/$libfile"

# Kotlin: into the Maven project's source root (package dev.tessera).
mkdir -p bindings/kotlin/src/main/kotlin/dev/tessera
install_file "$tmp/kotlin/dev/tessera/tessera_ffi.kt" \
  bindings/kotlin/src/main/kotlin/dev/tessera/tessera_ffi.kt

# Swift: the Swift sources in target Tessera, the C header and module map in target
# TesseraFFI (SwiftPM wants them under include/ with the map named module.modulemap).
mkdir -p bindings/swift/Sources/Tessera bindings/swift/Sources/TesseraFFI/include
install_file "$tmp/swift/Tessera.swift" bindings/swift/Sources/Tessera/Tessera.swift
install_file "$tmp/swift/TesseraFFI.h" bindings/swift/Sources/TesseraFFI/include/TesseraFFI.h
install_file "$tmp/swift/TesseraFFI.modulemap" \
  bindings/swift/Sources/TesseraFFI/include/module.modulemap

echo "bindings generated from $lib"
