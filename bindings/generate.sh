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
# Three UniFFI components: tessera_core and tessera_gate (their types, exported where
# they are defined) and tessera_ffi (the objects and foreign traits). Writes:
#   bindings/python/tessera/{tessera_core,tessera_gate,tessera_ffi}.py + the library
#   bindings/kotlin/src/main/kotlin/dev/tessera/{core/tessera_core,gate/tessera_gate,tessera_ffi}.kt
#   bindings/swift/Sources/Tessera/{TesseraCore,TesseraGate,Tessera}.swift
#   bindings/swift/Sources/TesseraFFI/include/{TesseraCoreFFI,TesseraGateFFI,TesseraFFI}.h
#     and module.modulemap (one C module, TesseraFFI, with the three headers)
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

# Python: the modules and the library side by side in the package; each module loads
# the library from its own directory, and imports the others relatively.
for m in tessera_core tessera_gate tessera_ffi; do
  install_file "$tmp/python/$m.py" "bindings/python/tessera/$m.py"
done
install_file "$lib" "bindings/python/tessera/$libfile"

# Kotlin: into the Maven project's source root, one package per component.
kt=bindings/kotlin/src/main/kotlin/dev/tessera
mkdir -p "$kt/core" "$kt/gate"
# UniFFI 0.32 lowers an error of another component thrown by a foreign callback (an
# app's KeyVault throwing core's VaultException) into that component's RustBuffer class
# and hands it to this one's call status: a type error in Kotlin (Python's counterpart is
# patched in tessera/__init__.py; Swift has one C RustBuffer). Copy the buffer into this
# package's class (same layout, same library); fail if the generated line ever changes.
ffi_kt="$tmp/kotlin/dev/tessera/tessera_ffi.kt"
lowering='{ e: VaultException -> FfiConverterTypeVaultError.lower(e) }'
grep -qF "$lowering" "$ffi_kt" || { echo "generate.sh: VaultError lowering not found in tessera_ffi.kt" >&2; exit 1; }
sed -i "s/$lowering/{ e: VaultException -> uniffiBufferHere(FfiConverterTypeVaultError.lower(e)) }/" "$ffi_kt"
cat >> "$ffi_kt" <<'KT'

// Added by bindings/generate.sh: a buffer of another component as this package's class.
private fun uniffiBufferHere(b: RustBufferVaultError.ByValue): RustBuffer.ByValue =
    RustBuffer.ByValue().also {
        it.capacity = b.capacity
        it.len = b.len
        it.data = b.data
    }
KT
install_file "$ffi_kt" "$kt/tessera_ffi.kt"
install_file "$tmp/kotlin/dev/tessera/core/tessera_core.kt" "$kt/core/tessera_core.kt"
install_file "$tmp/kotlin/dev/tessera/gate/tessera_gate.kt" "$kt/gate/tessera_gate.kt"

# Swift: the three sources in target Tessera, the three C headers and one module map in
# target TesseraFFI (SwiftPM wants them under include/ with the map named
# module.modulemap). The generator writes a map per header; ours is one module holding
# all three, the name every generated source imports (ffi_module_name).
sw=bindings/swift/Sources
mkdir -p "$sw/Tessera" "$sw/TesseraFFI/include"
for f in TesseraCore TesseraGate Tessera; do
  install_file "$tmp/swift/$f.swift" "$sw/Tessera/$f.swift"
done
for h in TesseraCoreFFI TesseraGateFFI TesseraFFI; do
  install_file "$tmp/swift/$h.h" "$sw/TesseraFFI/include/$h.h"
done
cat > "$tmp/module.modulemap" <<'MAP'
module TesseraFFI {
    header "TesseraCoreFFI.h"
    header "TesseraGateFFI.h"
    header "TesseraFFI.h"
    export *
    use "Darwin"
    use "_Builtin_stdbool"
    use "_Builtin_stdint"
}
MAP
install_file "$tmp/module.modulemap" "$sw/TesseraFFI/include/module.modulemap"

echo "bindings generated from $lib"
