//! The workspace's `uniffi-bindgen`: the same UniFFI version as the library it reads,
//! which the generated code checks at load time (bindings/generate.sh runs it).

fn main() {
    uniffi::uniffi_bindgen_main()
}
