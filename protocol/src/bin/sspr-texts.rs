//! Writes the files a browser loads its texts from — `texts-<language>.json`, every `Text` in
//! that language — into each directory named. The WebAssembly apps carry no texts of their
//! own: a visitor downloads the language they read, not every language. Run by
//! `scripts/build-frontend.sh`.

use std::path::PathBuf;
use std::process::ExitCode;

use sspr_protocol::i18n::{texts_file, Lang};

fn main() -> ExitCode {
    let dirs: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() || dirs.iter().any(|d| d.as_os_str() == "--help") {
        eprintln!("usage: sspr-texts <dir>...\n\nWrites texts-<language>.json for each language into each directory.");
        return ExitCode::from(2);
    }
    for dir in &dirs {
        for lang in Lang::ALL {
            let path = dir.join(format!("texts-{}.json", lang.code()));
            if let Err(e) = std::fs::write(&path, texts_file(lang)) {
                eprintln!("sspr-texts: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
