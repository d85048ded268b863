#!/usr/bin/env bash
# Releases the Swift package's binary: packs TesseraFFIBinary.xcframework into a zip,
# computes the checksum SwiftPM verifies, and writes the zip's URL and checksum into the
# root Package.swift (the manifest SwiftPM users add).
#
#   bindings/release.sh VERSION URL_PREFIX                 macOS with Xcode: builds the
#       XCFramework (bindings/swift/build-xcframework.sh: every slice, release-smaller),
#       zips it, writes Package.swift
#   bindings/release.sh VERSION URL_PREFIX --zip FILE      any machine: a zip built on a Mac
#       (by the line above, or a Mac CI job) from the same commit; checked, then as above
#
#   e.g. bindings/release.sh 0.2.0 https://github.com/OWNER/tessera/releases/download/0.2.0
#
# Writes target/tessera-ffi/TesseraFFIBinary-VERSION.xcframework.zip and the two lines
# `let tesseraFFIBinaryURL` / `let tesseraFFIBinaryChecksum` of Package.swift; the URL is
# URL_PREFIX/TesseraFFIBinary-VERSION.xcframework.zip (https only: SwiftPM refuses other
# schemes). Then, in this order: upload the zip to that URL, commit Package.swift and
# bindings/swift/Sources/, tag VERSION. SwiftPM reads the tag's Package.swift and refuses a
# zip whose checksum differs, so a zip rebuilt after this script ran needs it run again.
#
# The JVM jar is released otherwise: bindings/kotlin/README.md, "The jar".
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

usage() { sed -n '2,21p' "$0"; }
case "${1:-}" in -h | --help) usage; exit 0 ;; esac
[ $# -eq 2 ] || [ $# -eq 4 ] || { usage >&2; exit 2; }
version="$1"
prefix="${2%/}"
given_zip=""
if [ $# -eq 4 ]; then
  [ "$3" = --zip ] || { usage >&2; exit 2; }
  given_zip="$4"
  [ -f "$given_zip" ] || { echo "no zip at $given_zip" >&2; exit 1; }
fi

[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
  { echo "VERSION must be a semantic version (1.2.3), as SwiftPM's tags are: $version" >&2; exit 2; }
# (Characters a sed replacement would read as special, & and |, are not accepted.)
[[ "$prefix" =~ ^https://[A-Za-z0-9._~:/%+-]+$ ]] ||
  { echo "URL_PREFIX must be an https:// URL of letters, digits and ._~:/%+-: $prefix" >&2; exit 2; }

manifest="${TESSERA_PACKAGE_SWIFT:-Package.swift}"   # the variable is for this script's own test
name=TesseraFFIBinary
zip="target/tessera-ffi/$name-$version.xcframework.zip"
url="$prefix/$name-$version.xcframework.zip"
for key in tesseraFFIBinaryURL tesseraFFIBinaryChecksum; do
  [ "$(grep -c "^let $key = \"[^\"]*\"\$" "$manifest")" = 1 ] ||
    { echo "$manifest: expected exactly one line 'let $key = \"…\"'" >&2; exit 1; }
done

mkdir -p target/tessera-ffi
rm -f "$zip"
if [ -z "$given_zip" ]; then
  if [ "$(uname -s)" != Darwin ] || ! command -v xcodebuild >/dev/null || ! command -v ditto >/dev/null; then
    echo "building the XCFramework needs macOS with Xcode; elsewhere pass --zip FILE" >&2
    exit 1
  fi
  # Every slice, the shipping profile, and the Swift sources regenerated from the same code.
  env -u PROFILE -u TARGETS bindings/swift/build-xcframework.sh
  # ditto --keepParent: the zip holds TesseraFFIBinary.xcframework/ at its top, as SwiftPM
  # wants (the artifact must be named like the binary target).
  (cd bindings/swift && ditto -c -k --sequesterRsrc --keepParent "$name.xcframework" "$root/$zip")
else
  cp "$given_zip" "$zip"
fi

# The zip must hold the XCFramework at its top level, under the binary target's name.
if command -v unzip >/dev/null; then
  entries=$(unzip -Z1 "$zip")
else
  entries=$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$zip")
fi
grep -qx "$name.xcframework/Info.plist" <<< "$entries" ||
  { echo "${given_zip:-$zip} has no $name.xcframework/Info.plist at its top level" >&2; rm -f "$zip"; exit 1; }

# SwiftPM's checksum is the SHA-256 of the zip (what `swift package compute-checksum`
# prints); use it where there is a Swift toolchain.
if command -v swift >/dev/null && swift package compute-checksum --help >/dev/null 2>&1; then
  checksum=$(swift package compute-checksum "$zip")
elif command -v sha256sum >/dev/null; then
  checksum=$(sha256sum "$zip" | cut -d' ' -f1)
else
  checksum=$(shasum -a 256 "$zip" | cut -d' ' -f1)
fi
[[ "$checksum" =~ ^[0-9a-f]{64}$ ]] || { echo "unexpected checksum: $checksum" >&2; exit 1; }

# Rewrite the two lines (a fresh file renamed over the manifest).
tmp="$manifest.tmp.$$"
trap 'rm -f "$tmp"' EXIT
sed -e "s|^let tesseraFFIBinaryURL = \"[^\"]*\"\$|let tesseraFFIBinaryURL = \"$url\"|" \
  -e "s|^let tesseraFFIBinaryChecksum = \"[^\"]*\"\$|let tesseraFFIBinaryChecksum = \"$checksum\"|" \
  "$manifest" > "$tmp"
grep -qxF "let tesseraFFIBinaryURL = \"$url\"" "$tmp" &&
  grep -qxF "let tesseraFFIBinaryChecksum = \"$checksum\"" "$tmp" ||
  { echo "could not rewrite $manifest" >&2; exit 1; }
mv -f "$tmp" "$manifest"

bytes=$(wc -c < "$zip")
cat <<EOF
$zip: $bytes bytes, checksum $checksum
$manifest: url $url
Next, in this order:
  1. upload $zip to $url
  2. commit $manifest and bindings/swift/Sources/ (the sources the zip was built with)
  3. tag $version and push the tag
EOF
if [ -n "$given_zip" ] && command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1 &&
  ! git diff --quiet HEAD -- bindings/swift/Sources; then
  echo "warning: bindings/swift/Sources has uncommitted changes: the zip must come from the same Rust code" >&2
fi
