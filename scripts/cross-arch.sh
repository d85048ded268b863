#!/usr/bin/env bash
# Phone CPUs, checked every time: the Rust tests of the crates that run on a phone, built
# for arm64 (aarch64-unknown-linux-gnu, run under qemu-user) and for 32-bit x86
# (i686-unknown-linux-gnu, run natively with 32-bit libraries). Android phones are arm64,
# some still 32-bit; the bugs these catch are word size (usize, i64 casts), endianness
# assumptions and C code (ring, SQLite) built for another CPU.
#
#   scripts/cross-arch.sh            both targets (what scripts/test-all.sh runs)
#   scripts/cross-arch.sh aarch64    one of them
#
# Installs what it needs itself: Debian's cross compilers, qemu-user-static and the
# 32-bit C libraries (apt, as root; not gcc-multilib, which conflicts with the aarch64
# cross compiler) and the two rustup targets. Builds go to the workspace's target/<triple>.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("${@:-aarch64 i686}")
read -r -a targets <<<"${targets[*]}"

packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  gcc-i686-linux-gnu libc6-dev-i386-cross libc6-i386 lib32gcc-s1)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "cross-arch: missing Debian packages: ${missing[*]} (install them as root, or run as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Linkers, C compilers (ring's and SQLite's C code) and, for arm64, the emulator.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64-static -L /usr/aarch64-linux-gnu"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_I686_UNKNOWN_LINUX_GNU_LINKER=i686-linux-gnu-gcc
export CC_i686_unknown_linux_gnu=i686-linux-gnu-gcc
export AR_i686_unknown_linux_gnu=i686-linux-gnu-ar

summary=()
run() {
  local triple=$1
  shift
  rustup target add "$triple" >/dev/null
  local log
  log=$(mktemp)
  echo "cross-arch: cargo test --target $triple $*"
  cargo test --locked --target "$triple" "$@" 2>&1 | tee "$log"
  local passed
  passed=$(grep -Eo '^test result: ok\. [0-9]+ passed' "$log" | awk '{s += $4} END {print s + 0}')
  rm -f "$log"
  summary+=("$triple ($*): $passed tests passed")
}
# TESSERA_CROSS_CLEAN=1 (.ci/run sets it): delete a CPU's build once its tests passed, so
# the two builds never take disk at once (docs/DECISIONS.md 48).
done_with() {
  if [ -n "${TESSERA_CROSS_CLEAN:-}" ]; then
    rm -rf "${CARGO_TARGET_DIR:-target}/$1"
    echo "cross-arch: removed ${CARGO_TARGET_DIR:-target}/$1 (TESSERA_CROSS_CLEAN)"
  fi
}

for t in "${targets[@]}"; do
  case "$t" in
    aarch64)
      # The library a phone loads, with its own tests (foreign callbacks, the runtime).
      run aarch64-unknown-linux-gnu -p tessera-core -p tessera-gate
      run aarch64-unknown-linux-gnu -p tessera-ffi --lib --test ffi_api
      done_with aarch64-unknown-linux-gnu
      ;;
    i686)
      run i686-unknown-linux-gnu -p tessera-core -p tessera-gate
      done_with i686-unknown-linux-gnu
      ;;
    *) echo "cross-arch: unknown target $t (aarch64 or i686)" >&2; exit 2 ;;
  esac
done
printf 'cross-arch: %s\n' "${summary[@]}"
