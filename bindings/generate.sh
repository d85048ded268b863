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

lib="target/$outdir/$libfile"
bindgen=target/debug/uniffi-bindgen
[ -f "$lib" ] || { echo "no library at $lib" >&2; exit 1; }

generate() { # language out-dir
  # --no-format: ktlint and swift-format are not required, and the output stays the
  # same on every machine. --config: binding names live in the workspace uniffi.toml.
  "$bindgen" generate --no-format --config bindings/uniffi-paths.toml \
    --language "$1" --out-dir "$2" "$lib"
}

# Python: the module and the library side by side; the module loads the library from
# its own directory.
generate python bindings/python/tessera
cp "$lib" bindings/python/tessera/

# Kotlin: into the Maven project's source root (package dev.tessera).
generate kotlin bindings/kotlin/src/main/kotlin

# Swift: the Swift sources in target Tessera, the C header and module map in target
# TesseraFFI (SwiftPM wants them under include/ with the map named module.modulemap).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate swift "$tmp"
mkdir -p bindings/swift/Sources/Tessera bindings/swift/Sources/TesseraFFI/include
cp "$tmp/Tessera.swift" bindings/swift/Sources/Tessera/Tessera.swift
cp "$tmp/TesseraFFI.h" bindings/swift/Sources/TesseraFFI/include/TesseraFFI.h
cp "$tmp/TesseraFFI.modulemap" bindings/swift/Sources/TesseraFFI/include/module.modulemap

echo "bindings generated from $lib"
