//! The binary's command line and configuration errors, run as a real process.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eclean-realtime"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    command.output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn an_unknown_environment_key_is_refused_by_name() {
    let output = run(&["check-config"], &[("APP_SERVER__PORTT", "9000")]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("portt"), "{text}");
}

#[test]
fn a_bad_value_is_refused_by_name() {
    let output = run(&["check-config"], &[("APP_SERVER__PORT", "eighty")]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("server.port"), "{text}");
}

#[test]
fn an_unknown_key_in_a_config_file_is_refused_by_name() {
    let dir = std::env::temp_dir().join(format!("eclean-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("extra.toml");
    std::fs::write(&file, "[database]\npool_sise = 3\n").unwrap();
    let output = run(&["--config", file.to_str().unwrap(), "check-config"], &[]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(
        text.contains("pool_sise") && text.contains("database"),
        "{text}"
    );
}

#[test]
fn conventional_variables_and_app_variables_layer_and_secrets_stay_hidden() {
    let output = run(
        &["check-config"],
        &[
            ("DATABASE_URL", "postgres://u:hunter2@db.example/eclean"),
            ("REDIS_URL", "redis://cache.example:6379"),
            ("JWT_SECRET", "a-very-secret-value-that-must-not-print"),
            ("APP_SERVER__PORT", "9123"),
            ("APP_AUTH__ACCESS_TTL_S", "60"),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("port: 9123"), "{text}");
    assert!(text.contains("access_ttl_s: 60"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!text.contains("a-very-secret-value"), "{text}");
    assert!(!text.contains("cache.example"), "{text}");
}

#[test]
fn production_refuses_to_start_without_a_secret() {
    let output = run(&["check-config"], &[("APP_ENV", "production")]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("auth.jwt_secret"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn issue_token_needs_the_shared_secret_and_prints_a_service_token() {
    let refused = run(&["issue-token", "--service", "platform"], &[]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("JWT_SECRET"),
        "{}",
        stderr(&refused)
    );

    let output = run(
        &["issue-token", "--service", "platform", "--ttl", "2h"],
        &[("JWT_SECRET", "a-shared-secret-of-more-than-32-bytes")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["role"], "service");
    assert_eq!(claims["service"], "platform");
    assert_eq!(claims["token_type"], "access");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 7200);
}

#[test]
fn migrate_and_create_admin_need_a_database() {
    for args in [
        vec!["migrate"],
        vec!["create-admin", "--email", "a@b.co", "--username", "a"],
    ] {
        let output = run(&args, &[]);
        assert!(!output.status.success());
        assert!(
            stderr(&output).contains("database.url"),
            "{}",
            stderr(&output)
        );
    }
}
