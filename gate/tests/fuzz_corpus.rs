//! The gate's fuzz target on stable Rust, in every `cargo test`: its body
//! (`gate/fuzz/src/payload.rs`, the same file `cargo +nightly fuzz run payload` runs) fed
//! the committed seed corpus `gate/fuzz/seeds/payload/`, whatever a local fuzzing run left
//! in `corpus/payload/` and `artifacts/payload/` (crash reproducers), every payload of the
//! protocol vectors, real codes of the fuzz gate's event that are stale, unreleased or
//! signed by another phone, mutations of all of those, and a bounded run of random
//! inputs. Nothing may panic and nothing may be admitted; a positive control shows the
//! fuzz gate does admit its own live codes, so "nothing admitted" means something.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use tessera_core::CodeFormat;

#[path = "../fuzz/src/payload.rs"]
mod payload;

use payload::{NOW_MS, Target, gate, genuine};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `dir`, sorted by name; none when it does not exist.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

/// Every string under a `"payload"` key of the protocol vector files.
fn vector_payloads() -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("payload", serde_json::Value::String(s)) => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut out = Vec::new();
    for (_, bytes) in files(&dir) {
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            walk(&v, &mut out);
        }
    }
    out
}

/// A small deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// `n` mutations of `input`: truncations, bit flips, base32 characters replaced, bytes
/// inserted and deleted.
fn mutations(input: &[u8], n: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut m = input.to_vec();
        let at = rng.below(m.len());
        match i % 5 {
            0 => m.truncate(at),
            1 if !m.is_empty() => m[at] ^= 1 << rng.below(8),
            2 if !m.is_empty() => m[at] = BASE32[rng.below(BASE32.len())],
            3 => m.insert(at, BASE32[rng.below(BASE32.len())]),
            _ if !m.is_empty() => {
                m.remove(at);
            }
            _ => m.push(b'A'),
        }
        out.push(m);
    }
    out
}

#[test]
fn the_fuzz_gate_admits_its_own_live_codes() {
    for format in [CodeFormat::T1, CodeFormat::S1] {
        let code = genuine(format, 0, true, 2);
        let mut g = gate().unwrap();
        let r = g.verify(&code, NOW_MS);
        assert!(r.verdict.is_admit(), "{format:?}: {:?}", r.verdict);
        // The same code one step either side too: the target's refusals below are not
        // only the freshness window.
        for offset in [-1, 1] {
            let mut g = gate().unwrap();
            let code = genuine(format, offset, true, 2);
            assert!(
                g.verify(&code, NOW_MS).verdict.is_admit(),
                "{format:?} {offset:+}"
            );
        }
    }
}

#[test]
fn the_seed_corpus_and_local_findings_are_rejected() {
    let seeds = files(&fuzz_dir().join("seeds/payload"));
    assert!(
        seeds.len() >= 20,
        "the seed corpus is missing: gate/fuzz/seeds/payload"
    );
    let local = [
        files(&fuzz_dir().join("corpus/payload")),
        files(&fuzz_dir().join("artifacts/payload")),
    ]
    .concat();
    let mut t = Target::new();
    for (name, bytes) in seeds.iter().chain(&local) {
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.run(bytes)));
        assert!(run.is_ok(), "{name} (see the panic above)");
    }
    println!(
        "fuzz corpus replayed: {} seeds, {} local inputs",
        seeds.len(),
        local.len()
    );
}

#[test]
fn protocol_vectors_and_their_mutations_are_rejected() {
    let vectors = vector_payloads();
    assert!(vectors.len() >= 50, "vectors found: {}", vectors.len());
    let mut rng = Rng(0x7e55_e4a0_f022_0001);
    let mut t = Target::new();
    for v in &vectors {
        t.run(v.as_bytes());
        for m in mutations(v.as_bytes(), 60, &mut rng) {
            t.run(&m);
        }
    }
}

#[test]
fn stale_unreleased_and_foreign_codes_and_their_mutations_are_rejected() {
    let mut codes = Vec::new();
    for format in [CodeFormat::T1, CodeFormat::S1] {
        for offset in [-3, -2, 2, 3] {
            codes.push(genuine(format, offset, true, 2));
        }
        codes.push(genuine(format, 0, false, 2));
    }
    codes.push(genuine(CodeFormat::S1, 0, true, 9));
    let mut rng = Rng(0x7e55_e4a0_f022_0002);
    let mut t = Target::new();
    for c in &codes {
        t.run(c.as_bytes());
        t.run(format!("{c}\r\n").as_bytes());
        for m in mutations(c.as_bytes(), 1_000, &mut rng) {
            t.run(&m);
        }
    }
}

#[test]
fn a_bounded_run_of_random_inputs_is_rejected() {
    let mut rng = Rng(0x7e55_e4a0_f022_0003);
    let mut t = Target::new();
    for i in 0..40_000 {
        let len = rng.below(160);
        let bytes: Vec<u8> = match i % 2 {
            0 => (0..len).map(|_| rng.next() as u8).collect(),
            _ => {
                let prefix: &[u8] = if i % 4 == 1 { b"T1:" } else { b"S1:" };
                let body = (0..len).map(|_| BASE32[rng.below(BASE32.len())]);
                prefix.iter().copied().chain(body).collect()
            }
        };
        t.run(&bytes);
    }
}
