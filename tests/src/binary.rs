//! The `eclean-realtime` binary, for tests that run it as a process.

use std::path::PathBuf;

/// Path of the binary built with this test run (`target/<profile>/eclean-realtime`). Cargo builds
/// it for every `cargo test`/`nextest run` of the workspace, because the `server` package has
/// integration tests.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let binary = profile_dir.join("eclean-realtime");
    assert!(
        binary.exists(),
        "{} is missing: run the suite with `cargo nextest run --workspace`",
        binary.display()
    );
    binary
}
