//! Embeds the built web site into the binary when `RADAR_EMBED_SITE=<site dir>` is
//! set at compile time (release builds: copying `radar` is a deployment). Without
//! it nothing is embedded and the server reads the site from `RADAR_SITE_ROOT`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `PUBLIC`: the files of `public/` (copied into the site root by
/// scripts/build-site.sh), the only site-root files the server hands out.
fn public_files(code: &mut String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut list = Vec::new();
    files(&dir, &mut list);
    code.push_str("pub static PUBLIC: &[&str] = &[\n");
    for p in list {
        println!("cargo:rerun-if-changed={}", p.display());
        let rel = p
            .strip_prefix(&dir)
            .unwrap_or(&p)
            .to_string_lossy()
            .replace('\\', "/");
        if rel.split('/').any(|c| c.starts_with('.')) {
            continue;
        }
        let _ = writeln!(code, "    {rel:?},");
    }
    code.push_str("];\n");
}

/// `VIEWER`: the `/docs` viewer (Scalar's standalone bundle), which
/// scripts/setup.sh fetches from npm into `vendor/docs/viewer.js`; `None` when
/// it is not there (the page then says how to get it).
fn docs_bundle() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../vendor/docs/viewer.js");
    println!("cargo:rerun-if-changed={}", path.display());
    let code = match path.canonicalize() {
        Ok(p) if p.is_file() => format!(
            "pub static VIEWER: Option<&[u8]> = Some(include_bytes!({:?}));\n",
            p.display().to_string()
        ),
        _ => "pub static VIEWER: Option<&[u8]> = None;\n".to_owned(),
    };
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("docs_bundle.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}

fn main() {
    docs_bundle();
    println!("cargo:rerun-if-env-changed=RADAR_EMBED_SITE");
    let mut code = String::from("pub static FILES: &[(&str, &[u8])] = &[\n");
    if let Some(dir) = std::env::var_os("RADAR_EMBED_SITE").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        let dir = dir.canonicalize().unwrap_or(dir);
        let mut list = Vec::new();
        files(&dir, &mut list);
        assert!(
            list.iter().any(|p| p.ends_with("pkg/radar_bg.wasm")),
            "RADAR_EMBED_SITE={} holds no pkg/radar_bg.wasm: run scripts/build-site.sh --release first",
            dir.display()
        );
        println!("cargo:rerun-if-changed={}", dir.display());
        for p in list {
            println!("cargo:rerun-if-changed={}", p.display());
            let rel = p
                .strip_prefix(&dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            let _ = writeln!(
                code,
                "    ({rel:?}, include_bytes!({:?})),",
                p.display().to_string()
            );
        }
    }
    code.push_str("];\n");
    public_files(&mut code);
    let out =
        PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("embedded_site.rs");
    if let Err(e) = std::fs::write(&out, code) {
        panic!("cannot write {}: {e}", out.display());
    }
}
