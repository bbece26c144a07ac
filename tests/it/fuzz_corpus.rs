//! Replays the committed fuzz corpus (`tests/fuzz/corpus/<target>/`) through
//! the functions the fuzzers call, on stable Rust: a fixed crash stays fixed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz")
}

fn names(iter: impl Iterator<Item = String>) -> BTreeSet<String> {
    iter.collect()
}

/// Targets, fuzz binaries, target files and corpus directories agree.
#[test]
fn every_target_has_a_binary_a_file_and_a_corpus() {
    let targets = names(hookgate::fuzz::TARGETS.iter().map(|(n, _)| n.to_string()));
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    let bins = names(
        manifest
            .lines()
            .filter_map(|l| l.strip_prefix("name = \""))
            .filter_map(|l| l.strip_suffix('"'))
            .filter(|n| *n != "hookgate-fuzz")
            .map(str::to_string),
    );
    let list = |dir: &str| {
        names(std::fs::read_dir(fuzz_dir().join(dir)).unwrap().map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        }))
    };
    assert_eq!(bins, targets, "[[bin]]s in tests/fuzz/Cargo.toml");
    assert_eq!(list("fuzz_targets"), targets, "tests/fuzz/fuzz_targets/");
    assert_eq!(list("corpus"), targets, "tests/fuzz/corpus/");
}

#[test]
fn committed_corpus_replays_cleanly() {
    for (name, target) in hookgate::fuzz::TARGETS {
        let dir = fuzz_dir().join("corpus").join(name);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let r = std::panic::catch_unwind(|| target(&data));
            assert!(r.is_ok(), "{name}: {} panics", path.display());
            n += 1;
        }
        assert!(n >= 3, "{name}: only {n} seeds in {}", dir.display());
    }
}

/// The path-normaliser seeds carry the route-bypass spellings of issue 9
/// (open `/hooks/ping`, signed `/hooks/payments`): each is refused or lands
/// on the signed route, never on the open one.
#[test]
fn path_normaliser_seeds_never_route_a_bypass_to_the_open_route() {
    let dir = fuzz_dir().join("corpus/path_normaliser");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("bypass-") {
            continue;
        }
        let raw = std::fs::read(&path).unwrap();
        if let Ok(t) = hookgate::target::normalize_target(&raw) {
            assert_eq!(t.path, "/hooks/payments", "{name}");
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} bypass seeds in {}", dir.display());
}

/// The signature seeds start every row from a request its own vectors
/// signed (a fuzzer that starts from requests that fail early explores
/// little): each `vector-*` seed verifies, and every row has a seed.
#[test]
fn signature_seeds_cover_every_row_and_vector_seeds_verify() {
    let dir = fuzz_dir().join("corpus/signature_headers");
    let mut rows = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let row = data.split(|b| *b == b'\n').next().unwrap();
        rows.insert(String::from_utf8_lossy(row).into_owned());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("vector-") {
            let got = hookgate::fuzz::signature_verdict(&data);
            assert!(matches!(got, Some(Ok(_))), "{name}: {got:?}");
        }
    }
    for p in hookgate::verify::providers::PROVIDERS {
        assert!(rows.contains(p.name), "no seed for row {}", p.name);
    }
}

/// Rewrites the generated seeds. Run after adding rows or vectors:
/// `cargo test --test it fuzz_corpus::write_seed_corpus -- --ignored`.
#[test]
#[ignore]
fn write_seed_corpus() {
    let corpus = fuzz_dir().join("corpus");
    let write = |target: &str, name: &str, data: &[u8]| {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), data).unwrap();
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let signatures = corpus.join("signature_headers");
    if signatures.exists() {
        std::fs::remove_dir_all(&signatures).unwrap();
    }
    // Up to two vectors per row, the providers' own first (published, SDK).
    let mut per_row = std::collections::BTreeMap::<&str, usize>::new();
    for file in [
        "src/verify/tests/vectors.json",
        "tests/fixtures/sdk-vectors.json",
        "tests/fixtures/derived-vectors.json",
    ] {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(repo.join(file)).unwrap()).unwrap();
        for vector in doc["vectors"].as_array().unwrap() {
            let (row, seed) = hookgate::fuzz::signature_seed(vector).unwrap();
            let n = per_row.entry(row).or_default();
            if *n < 2 {
                *n += 1;
                write("signature_headers", &format!("vector-{row}-{n}"), &seed);
            }
        }
    }
    // Rows whose vectors need a network or a dedicated test: an unsigned request.
    for p in hookgate::verify::providers::PROVIDERS {
        if !per_row.contains_key(p.name) {
            let seed = hookgate::fuzz::signature_input(&hookgate::fuzz::SignatureInput {
                row: p.name,
                secret: "fuzz-secret",
                method: "POST",
                target: "/hook",
                headers: vec![("content-type", "application/json")],
                body: b"{\"type\":\"fuzz\"}",
            });
            write("signature_headers", &format!("unsigned-{}", p.name), &seed);
        }
    }
    for (name, file) in [
        ("seed-demo", "conf/hookgate.toml"),
        ("seed-all-presets", "conf/providers/all-presets.toml"),
    ] {
        write(
            "config_loader",
            name,
            &std::fs::read(repo.join(file)).unwrap(),
        );
    }
}
