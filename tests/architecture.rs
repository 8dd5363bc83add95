//! The layering of DESIGN §2, checked on the real dependency graph: `domain` knows no framework,
//! I/O runtime or database; `api-actix` knows no database driver; the core never sees adapters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::process::Command;

/// Every package `package` depends on through normal (non-dev, non-build) edges.
fn dependencies(package: &str) -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .args(["-p", package])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_free_of(package: &str, forbidden: &[&str]) {
    let deps = dependencies(package);
    assert!(
        deps.contains(package),
        "cargo tree did not list {package} itself: {deps:?}"
    );
    let offenders: Vec<_> = deps
        .iter()
        .filter(|dep| {
            forbidden.iter().any(|f| {
                dep.as_str() == *f
                    || dep.starts_with(&format!("{f}-"))
                    || dep.starts_with(&format!("{f}_"))
            })
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "{package} must not depend on {offenders:?}"
    );
}

#[test]
fn domain_knows_no_framework_runtime_or_database() {
    assert_free_of(
        "domain",
        &[
            "actix",
            "actix-web",
            "diesel",
            "fred",
            "redis",
            "deadpool",
            "tokio",
            "ports",
            "app",
        ],
    );
}

#[test]
fn ports_know_no_framework_runtime_or_database() {
    assert_free_of(
        "ports",
        &[
            "actix",
            "actix-web",
            "diesel",
            "fred",
            "redis",
            "deadpool",
            "tokio",
            "app",
        ],
    );
}

#[test]
fn the_application_core_knows_no_adapter() {
    assert_free_of(
        "app",
        &[
            "actix",
            "actix-web",
            "diesel",
            "fred",
            "redis",
            "deadpool",
            "adapters",
            "api-actix",
            "jsonwebtoken",
            "argon2",
            "lettre",
            "minijinja",
            "reqwest",
            "http-client",
        ],
    );
}

#[test]
fn the_http_gateway_knows_no_database_driver() {
    assert_free_of(
        "api-actix",
        &[
            "diesel",
            "fred",
            "redis",
            "deadpool",
            "tokio-postgres",
            "adapters",
            "lettre",
        ],
    );
}

#[test]
fn adapters_do_not_depend_on_each_other_or_the_gateway() {
    for adapter in [
        "adapters-memory",
        "adapters-postgres",
        "adapters-redis",
        "adapters-delivery",
    ] {
        let others: Vec<&str> = [
            "adapters-memory",
            "adapters-postgres",
            "adapters-redis",
            "adapters-delivery",
            "api-actix",
            "app",
            "actix-web",
        ]
        .into_iter()
        .filter(|other| *other != adapter)
        .collect();
        assert_free_of(adapter, &others);
    }
}

#[test]
fn the_load_generator_is_a_client_of_the_protocol_only() {
    assert_free_of(
        "loadgen",
        &[
            "domain",
            "ports",
            "app",
            "adapters",
            "api-actix",
            "server",
            "actix-web",
            "diesel",
        ],
    );
}

#[test]
fn the_check_itself_sees_forbidden_dependencies() {
    // Guards against a check that passes because cargo tree printed nothing useful.
    let deps = dependencies("adapters-postgres");
    assert!(deps.contains("diesel"), "{deps:?}");
    let gateway = dependencies("api-actix");
    assert!(gateway.contains("actix-web"), "{gateway:?}");
}
