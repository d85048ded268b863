//! Writes the seed corpus of the gate's fuzz target, `gate/fuzz/seeds/payload/`: real
//! codes of the fuzz gate's event that it refuses only late in its checklist (stale, no
//! release MAC, another phone's signature), every payload of the protocol vectors, and a
//! few malformed inputs. `cargo +nightly fuzz run payload corpus/payload seeds/payload`
//! starts from them; `gate/tests/fuzz_corpus.rs` replays them on stable in every
//! `cargo test`.
//!
//! ```text
//! cargo run -p tessera-gate --example gen_fuzz_seeds
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use tessera_core::CodeFormat;

#[path = "../fuzz/src/payload.rs"]
mod payload;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("fuzz/seeds/payload");
    std::fs::create_dir_all(&out).unwrap();
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    for (format, name) in [(CodeFormat::T1, "t1"), (CodeFormat::S1, "s1")] {
        for offset in [-2i64, 2] {
            let code = payload::genuine(format, offset, true, 2);
            seeds.push((format!("{name}-stale-{offset:+}"), code.into_bytes()));
        }
        let code = payload::genuine(format, 0, false, 2);
        seeds.push((format!("{name}-not-released"), code.into_bytes()));
    }
    let code = payload::genuine(CodeFormat::S1, 0, true, 9);
    seeds.push(("s1-wrong-device".into(), code.into_bytes()));
    for (name, bytes) in [
        ("empty", b"".to_vec()),
        ("t1-prefix-only", b"T1:".to_vec()),
        ("s1-prefix-only", b"S1:".to_vec()),
        ("s1-short-body", b"S1:AAAAAAAA".to_vec()),
        (
            "t1-lower-case",
            b"t1:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
        ),
        ("ansi-escape", b"\x1b[2JS1:AAAA".to_vec()),
        ("not-utf8", vec![0xff, 0xfe, b'S', b'1', b':', 0xc3]),
        ("long", [b"S1:".as_slice(), &[b'A'; 4096]].concat()),
    ] {
        seeds.push((name.into(), bytes));
    }
    let vectors = root.join("../tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&vectors)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in files {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
        let mut n = 0;
        let mut walk = vec![&v];
        while let Some(v) = walk.pop() {
            match v {
                serde_json::Value::Object(m) => {
                    for (k, v) in m {
                        if let ("payload", serde_json::Value::String(s)) = (k.as_str(), v) {
                            seeds.push((format!("vector-{stem}-{n:03}"), s.clone().into_bytes()));
                            n += 1;
                        } else {
                            walk.push(v);
                        }
                    }
                }
                serde_json::Value::Array(a) => walk.extend(a.iter().rev()),
                _ => {}
            }
        }
    }
    for (name, bytes) in &seeds {
        std::fs::write(out.join(name), bytes).unwrap();
    }
    println!("wrote {} seeds to {}", seeds.len(), out.display());
}
