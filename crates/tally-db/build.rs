//! Fingerprints the SQL migrations so that the test helper rebuilds its
//! template database whenever a migration file changes.

use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    collect(&dir, &mut files);
    files.sort();
    let mut hasher = crc32fast::Hasher::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        hasher.update(
            file.strip_prefix(&dir)
                .unwrap_or(file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(&std::fs::read(file).unwrap_or_default());
    }
    println!(
        "cargo:rustc-env=TALLY_MIGRATIONS_HASH={:08x}",
        hasher.finalize()
    );
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}
