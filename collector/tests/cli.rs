//! The `collector` binary as an operator meets it: `--help` documents every
//! setting, and bad settings stop it with a message naming the key.

use std::process::Command;

fn collector() -> Command {
    Command::new(env!("CARGO_BIN_EXE_collector"))
}

#[test]
fn help_documents_flags_environment_settings_and_endpoints() {
    let output = collector().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for expected in [
        "--config",
        "LEADSCORE_CONFIG",
        "LEADSCORE_LISTEN",
        "LEADSCORE_DATABASE",
        "LEADSCORE_ADMIN_TOKEN",
        "LEADSCORE_RETENTION_DAYS",
        "LEADSCORE_PUBLIC_DIR",
        "[limits]",
        "per_ip_per_minute",
        "[forwarding]",
        "max_attempts",
        "[[sites]]",
        "origins",
        "[[webhooks]]",
        "secret",
        "POST /v1/leads",
        "/v1/admin",
        "RUST_LOG",
    ] {
        assert!(help.contains(expected), "--help does not mention {expected}:\n{help}");
    }
}

#[test]
fn bad_settings_stop_the_collector_with_the_key_named() {
    let dir = std::env::temp_dir().join(format!("leadscore-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = dir.join("collector.toml");
    std::fs::write(&settings, "listen = \"127.0.0.1:0\"\n[limits]\nper_minute = 5\n").unwrap();
    let output = collector().arg("--config").arg(&settings).env_remove("LEADSCORE_ADMIN_TOKEN").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("unknown field `per_minute`"), "{stderr}");
    assert!(stderr.contains("collector.toml"), "{stderr}");

    let output = collector().args(["--admin-token", "short", "--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("admin_token: must be at least 16 characters"));

    // The same setting from the environment reaches the same check.
    let output = collector().env("LEADSCORE_ADMIN_TOKEN", "short").args(["--listen", "127.0.0.1:0"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("admin_token: must be at least 16 characters"));
}

#[test]
fn check_gives_the_full_message_and_fails_on_a_bad_rule_set() {
    let dir = std::env::temp_dir().join(format!("leadscore-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.json");
    let bad = dir.join("bad.json");
    std::fs::write(
        &good,
        r#"{"site": "acme", "preset": "b2b-saas", "rules": [{"id": "x", "on": "page_veiw", "points": 1}]}"#,
    )
    .unwrap();
    std::fs::write(&bad, r#"{"site": "acme", "rules": [{"id": "x", "on": "visit", "points": 1, "withn_days": 3}]}"#)
        .unwrap();

    let output = collector().arg("check").arg(&good).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("good.json: ok: site \"acme\", 20 rules"), "{stdout}");
    assert!(stdout.contains("good.json: warning: rules[0].on: \"page_veiw\" is a custom event; did you mean the built-in \"page_view\"?"), "{stdout}");

    let output = collector().arg("check").arg(&good).arg(&bad).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("good.json: ok"), "{stdout}");
    assert!(stdout.contains("bad.json: rules[0].withn_days: unknown field; did you mean \"within_days\"?"), "{stdout}");

    let output = collector().arg("check").arg(dir.join("missing.json")).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stdout).unwrap().contains("missing.json: cannot read"));

    // `compile` prints the config the widget reads without its compiler (a
    // JSON string), or check's mistakes and fails.
    let output = collector().arg("compile").arg(&good).output().unwrap();
    assert!(output.status.success());
    let compiled: String = serde_json::from_slice(&output.stdout).unwrap();
    let text = std::fs::read_to_string(&good).unwrap();
    assert_eq!(leadscore::core::Config::from_text(&compiled).unwrap(), leadscore::core::Config::parse(&text).unwrap());
    let output = collector().arg("compile").arg(&bad).output().unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8(output.stderr).unwrap().contains("bad.json: rules[0].withn_days: unknown field"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_database_that_cannot_be_reached_is_named_with_what_to_check() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://leadscore:hunter2@127.0.0.1:{port}/leads");
    let output = collector()
        .args(["--admin-token", "0123456789abcdef0123", "--listen", "127.0.0.1:0", "--database", &url])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "names the host: {stderr}");
    assert!(stderr.contains("check that the server runs"), "says what to check: {stderr}");
    assert!(!stderr.contains("hunter2"), "never shows the password: {stderr}");
    let output = collector()
        .args(["--admin-token", "0123456789abcdef0123", "--listen", "127.0.0.1:0", "--database", "mysql://db/x"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8(output.stderr).unwrap().contains("`mysql://` is not a store"));
}
