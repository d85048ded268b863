//! Fuzz target `payload`: arbitrary scanner bytes through the parser and a full verifier.
//!
//! Run with `cargo +nightly fuzz run payload corpus/payload seeds/payload` from `gate/`.
//! Every input must be rejected without a panic: the bundle admits only codes drawn with
//! keys and seeds the fuzzer cannot know. The body is `src/payload.rs`, which the stable
//! replay `gate/tests/fuzz_corpus.rs` runs on every `cargo test`.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;

#[path = "../src/payload.rs"]
mod payload;

thread_local! {
    static TARGET: RefCell<payload::Target> = RefCell::new(payload::Target::new());
}

fuzz_target!(|data: &[u8]| {
    TARGET.with(|t| t.borrow_mut().run(data));
});
