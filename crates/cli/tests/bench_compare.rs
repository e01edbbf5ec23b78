//! `kassa bench --compare` end to end on SQLite: two names for this build (A and B), two
//! rounds of a one-second lifecycle run with its ceiling. Checks what was run, in which order,
//! and that the report carries each side's figures and B/A; no timing is asserted.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const KASSA: &str = env!("CARGO_BIN_EXE_kassa");

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `name` in `dir`, a link to this build: `--compare` must run the binaries it is given.
fn binary(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::os::unix::fs::symlink(KASSA, &path).unwrap();
    path.display().to_string()
}

#[test]
fn compare_runs_a_and_b_in_alternating_rounds_and_reports_b_over_a() {
    let dir = std::env::temp_dir().join(format!("kassa-bench-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = TempDir(dir.clone());
    let (a, b) = (binary(&dir, "kassa-a"), binary(&dir, "kassa-b"));
    // The runs' databases go into fresh directories beside this (unused) file.
    let base = format!("sqlite://{}/base.db", dir.display());
    let output = Command::new(KASSA)
        .args(["bench", "--compare", &format!("{a},{b}"), "--rounds", "2"])
        .args([
            "--scenario",
            "lifecycle",
            "--duration",
            "1s",
            "--concurrency",
            "2",
        ])
        .args(["--ceiling", "--database-url", &base])
        .env_remove("KASSA_API_KEY")
        .output()
        .expect("run kassa bench --compare");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}\n{stdout}");

    let order: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("bench --compare: round "))
        .filter_map(|l| l.split(", ").nth(1))
        .collect();
    let expected = [
        format!("A0 = {a}"),
        format!("B0 = {b}"),
        format!("B1 = {b}"),
        format!("A1 = {a}"),
    ];
    assert_eq!(order, expected, "{stderr}");

    let runs: Vec<Value> = stdout
        .lines()
        .filter(|l| l.starts_with("{\"scenario\""))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(runs.len(), 4, "{stdout}");
    for run in &runs {
        assert_eq!(run["ceiling_shape"], "lifecycle", "{stdout}");
        assert_eq!(run["errors"], 0, "{stdout}");
    }

    let last: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["compare"], "lifecycle", "{stdout}");
    assert_eq!(last["backend"], "sqlite", "{stdout}");
    assert_eq!(last["rounds"], 2, "{stdout}");
    for (side, path) in [("a", &a), ("b", &b)] {
        assert_eq!(last[side]["binary"], path.as_str(), "{stdout}");
        assert!(
            last[side]["throughput_per_s"].as_f64().unwrap() > 0.0,
            "{stdout}"
        );
        assert!(
            last[side]["ceiling_per_s"].as_f64().unwrap() > 0.0,
            "{stdout}"
        );
        assert_eq!(last[side]["errors"], 0, "{stdout}");
    }
    for figure in ["throughput", "p50", "p99", "ratio"] {
        assert!(last["b_over_a"][figure].as_f64().unwrap() > 0.0, "{stdout}");
    }
    assert_eq!(
        last["b_over_a_throughput_by_round"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("kassa-compare-"))
        .collect();
    assert!(left.is_empty(), "run directories left behind: {left:?}");
}
