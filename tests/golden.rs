//! Golden replay tests (in the style of Holo's conformance tests): each directory under
//! `testdata/golden/<case>/` holds `args` (the replay arguments, one per line, paths relative
//! to the repository root), optionally a `config.toml` (passed as `--config`), and the expected
//! outputs: `expected-summary.json` (the `--json` summary), and where present
//! `expected-rejected.jsonl`, `expected-verdicts.jsonl` and `expected-exit` (the exit status,
//! e.g. 3 for a case whose input is not read whole; 0 when absent). `BGPSIEVE_UPDATE_GOLDEN=1` rewrites
//! the expected files from the current output (review the diff before committing it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn run_case(case: &Path) -> Vec<String> {
    let update = std::env::var_os("BGPSIEVE_UPDATE_GOLDEN").is_some();
    let tmp = tempfile::tempdir().unwrap();
    let rejected = tmp.path().join("rejected.jsonl");
    let verdicts = tmp.path().join("verdicts.jsonl");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bgpsieve"));
    cmd.current_dir(root())
        .args(["replay", "--json", "--no-progress", "--rejected"])
        .arg(&rejected)
        .arg("--verdicts")
        .arg(&verdicts);
    if case.join("config.toml").exists() {
        cmd.arg("--config").arg(case.join("config.toml"));
    }
    cmd.args(
        read(&case.join("args"))
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty()),
    );
    let out = cmd.output().unwrap();
    let exit = case.join("expected-exit");
    let want_exit: i32 = if exit.exists() {
        read(&exit).trim().parse().unwrap()
    } else {
        0
    };
    assert_eq!(
        out.status.code(),
        Some(want_exit),
        "{}: replay failed: {}",
        case.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = serde_json::to_string_pretty(&summary).unwrap() + "\n";
    let mut failures = Vec::new();
    let outputs = [
        ("expected-summary.json", summary, true),
        ("expected-rejected.jsonl", read(&rejected), true),
        ("expected-verdicts.jsonl", read(&verdicts), false),
    ];
    for (name, got, always) in outputs {
        let path = case.join(name);
        if update {
            if always || path.exists() {
                std::fs::write(&path, &got).unwrap();
            }
            continue;
        }
        if !path.exists() {
            continue;
        }
        let want = read(&path);
        if want != got {
            let line = want
                .lines()
                .zip(got.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
            failures.push(format!(
                "{}: differs from line {}:\n  want: {}\n  got:  {}",
                path.display(),
                line + 1,
                want.lines().nth(line).unwrap_or("<end>"),
                got.lines().nth(line).unwrap_or("<end>")
            ));
        }
    }
    failures
}

#[test]
fn golden_replays() {
    let dir = root().join("testdata/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("args").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "golden cases missing in {}",
        dir.display()
    );
    let failures: Vec<String> = cases.iter().flat_map(|c| run_case(c)).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
