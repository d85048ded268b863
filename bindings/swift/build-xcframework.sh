#!/usr/bin/env bash
# Builds TesseraFFIBinary.xcframework: the static library of tessera-ffi
# (libtessera_ffi.a) for iOS devices, the iOS simulator and macOS, and regenerates the
# Swift sources, header and module map from the same code (bindings/generate.sh).
# Runs on macOS with Xcode and rustup only; see README.md.
#
#   ./build-xcframework.sh                          # release-smaller: what an app ships (default)
#   PROFILE=dev ./build-xcframework.sh              # faster build, for `swift test`
#   TARGETS="aarch64-apple-darwin" PROFILE=dev ./build-xcframework.sh   # macOS slice only
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
profile="${PROFILE:-release-smaller}"
outdir="$profile"; [ "$profile" = dev ] && outdir=debug   # cargo's dev profile writes target/*/debug
targets=(${TARGETS:-aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin})

if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null; then
  echo "build-xcframework.sh needs macOS with Xcode (xcodebuild, lipo)" >&2
  exit 1
fi
export IPHONEOS_DEPLOYMENT_TARGET=15.0 MACOSX_DEPLOYMENT_TARGET=12.0   # as in Package.swift

cd "$root"
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  echo "== cargo build -p tessera-ffi --target $t --profile $profile"
  cargo build --locked -p tessera-ffi --lib --target "$t" --profile "$profile"
done

# The Swift API, header and module map must match the library's code.
echo "== bindings/generate.sh"
bindings/generate.sh --profile "$profile"

# One library per platform: device; simulator and macOS as fat (lipo) libraries of the
# architectures built.
build="$here/build"
rm -rf "$build" "$here/TesseraFFIBinary.xcframework"
args=()
for platform in ios ios-sim macos; do
  libs=()
  for t in "${targets[@]}"; do
    case "$platform:$t" in
      ios:aarch64-apple-ios | ios-sim:*-apple-ios-sim | ios-sim:x86_64-apple-ios | macos:*-apple-darwin)
        libs+=("target/$t/$outdir/libtessera_ffi.a") ;;
    esac
  done
  [ ${#libs[@]} -gt 0 ] || continue
  mkdir -p "$build/$platform"
  lipo -create "${libs[@]}" -output "$build/$platform/libtessera_ffi.a"
  args+=(-library "$build/$platform/libtessera_ffi.a")
done

# No headers inside: the C module comes from the TesseraFFI target (Sources/TesseraFFI).
xcodebuild -create-xcframework "${args[@]}" -output "$here/TesseraFFIBinary.xcframework"
echo "wrote $here/TesseraFFIBinary.xcframework"
