#!/usr/bin/env bash
# Builds libtessera_ffi.so for the Android demo with cargo-ndk and puts one per ABI in
# app/src/main/jniLibs/<abi>/, then regenerates the Kotlin package the app compiles
# (bindings/generate.sh) so the two come from the same Rust code.
#
#   android-demo/build-native.sh                    # arm64-v8a + x86_64, profile release-smaller
#   ABIS=x86_64 android-demo/build-native.sh        # the emulator only: half the build time
#   PROFILE=dev android-demo/build-native.sh        # unoptimised, quicker to build
#
# Needs (README.md): rustup, `cargo install cargo-ndk`, and the Android NDK (r28 or newer,
# which links 16 KB-page-aligned libraries by default, as Android 15+ devices require),
# found through ANDROID_NDK_HOME or the newest NDK under ANDROID_HOME / ANDROID_SDK_ROOT.
# Runs on Linux and macOS. CI does not run it (no NDK there).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
profile="${PROFILE:-release-smaller}"
outdir="$profile"; [ "$profile" = dev ] && outdir=debug   # cargo's dev profile writes */debug
read -r -a abis <<< "${ABIS:-arm64-v8a x86_64}"
jnilibs="$here/app/src/main/jniLibs"

triple_of() {
  case "$1" in
    arm64-v8a) echo aarch64-linux-android ;;
    x86_64) echo x86_64-linux-android ;;
    armeabi-v7a) echo armv7-linux-androideabi ;;
    x86) echo i686-linux-android ;;
    *) echo "unknown Android ABI: $1" >&2; return 1 ;;
  esac
}

if ! cargo ndk --version >/dev/null 2>&1; then
  echo "build-native.sh needs cargo-ndk: cargo install cargo-ndk" >&2
  exit 1
fi

cd "$root"
triples=()
for abi in "${abis[@]}"; do triples+=("$(triple_of "$abi")"); done
rustup target add "${triples[@]}"

for abi in "${abis[@]}"; do
  t="$(triple_of "$abi")"
  echo "== $abi ($t), profile $profile"
  # Copied by hand rather than with cargo-ndk's -o, whose copying rules have changed
  # between cargo-ndk versions: this way exactly this one file lands in the app.
  cargo ndk -t "$abi" build --locked -p tessera-ffi --lib --profile "$profile"
  mkdir -p "$jnilibs/$abi"
  cp "target/$t/$outdir/libtessera_ffi.so" "$jnilibs/$abi/libtessera_ffi.so"
done

# The generated Kotlin checks, when the library loads, that every function's checksum
# matches the library's: it must be generated from the same code. (Generated from a host
# build; the API is the same on every target.)
echo "== bindings/generate.sh"
bindings/generate.sh

echo "native libraries:"
for abi in "${abis[@]}"; do ls -l "$jnilibs/$abi/libtessera_ffi.so"; done
