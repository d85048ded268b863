// Intentionally empty. SwiftPM builds a C target only if it has a source file; this
// target exists to carry the generated header and module map (include/) through which
// the Swift target calls the Rust library (libtessera_ffi.a, linked by the app or an
// XCFramework). Regenerate the header with bindings/generate.sh.
