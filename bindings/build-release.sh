#!/usr/bin/env bash
# Builds the library apps ship: profile release-smaller, SQLite trimmed to what Tessera
# uses, two size-only linker options, then a stripped copy.
#
#   bindings/build-release.sh                  host target
#   bindings/build-release.sh --target T       a cross target (toolchain set up by you,
#                                              e.g. cargo-ndk's linker for Android)
#
# Output: target/tessera-ffi/<target or host>/<library> (stripped), and its size.
# Generate bindings from the UNSTRIPPED library (target/.../release-smaller/), never
# from the stripped copy: uniffi-bindgen reads the API from its metadata symbols.
set -euo pipefail
cd "$(dirname "$0")/.."

target=""
while [ $# -gt 0 ]; do
  case "$1" in
    --target)
      [ $# -ge 2 ] || { echo "--target needs a triple" >&2; exit 2; }
      target="$2"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

# SQLite as rusqlite's `bundled` builds it carries FTS3/FTS5, R-tree, JSON, dbstat,
# soundex, extension loading… none of which the wallet or the gate use (~0.4 MB). The
# -D options are from SQLite's "recommended compile-time options" and documented OMITs
# that work with the amalgamation; the Python tests run against this build.
export LIBSQLITE3_FLAGS="-USQLITE_ENABLE_FTS3 -USQLITE_ENABLE_FTS3_PARENTHESIS \
-USQLITE_ENABLE_FTS5 -USQLITE_ENABLE_RTREE -USQLITE_ENABLE_DBSTAT_VTAB \
-USQLITE_ENABLE_STAT4 -USQLITE_SOUNDEX -USQLITE_ENABLE_COLUMN_METADATA \
-USQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_OMIT_JSON \
-DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE -DSQLITE_OMIT_PROGRESS_CALLBACK \
-DSQLITE_OMIT_DECLTYPE -DSQLITE_DEFAULT_MEMSTATUS=0 -DSQLITE_MAX_EXPR_DEPTH=0 \
-DSQLITE_LIKE_DOESNT_MATCH_BLOBS"

# Size-only linker options (lld, Rust's default linker on Linux, and the NDK's):
# packed relative relocations (~0.45 MB of .rela.dyn become a few KB; needs glibc 2.36+
# or Android 9+) and identical-code folding (monomorphised copies).
export RUSTFLAGS="${RUSTFLAGS:-} -C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all"
# Its own target dir: these flags would otherwise force full rebuilds of target/.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/mobile}"

args=(--locked -p tessera-ffi --lib --profile release-smaller)
[ -n "$target" ] && args+=(--target "$target")
cargo build "${args[@]}"

triple="${target:-host}"
built="$CARGO_TARGET_DIR/${target:+$target/}release-smaller"
lib=""
for f in libtessera_ffi.so libtessera_ffi.dylib tessera_ffi.dll; do
  [ -f "$built/$f" ] && lib="$f" && break
done
[ -n "$lib" ] || { echo "no library in $built" >&2; exit 1; }

out="target/tessera-ffi/$triple"
mkdir -p "$out"
cp "$built/$lib" "$out/$lib"
case "$lib" in
  *.dylib) strip -x "$out/$lib" ;;
  *) strip "$out/$lib" ;;
esac
bytes=$(wc -c < "$out/$lib")
echo "$out/$lib: $bytes bytes stripped ($(awk -v b="$bytes" 'BEGIN { printf "%.2f MiB", b / 1048576 }'))"
echo "unstripped (generate bindings from this one): $built/$lib"
