//! The `familiar` command line, run as a process: the forms outside checks use.

use std::process::Command;

use serde_json::Value;

use crate::support::*;

#[test]
fn agent_commands_have_stable_json_forms() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let card = fixture_path("st-v3.png");
    let imported = json(h, &["agent", "import", card.to_str().unwrap(), "--json"]);
    let id = imported["id"].as_str().unwrap().to_string();
    assert_eq!(imported["name"], "Sora");

    let list = json(h, &["agent", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!((list[0]["id"].as_str(), list[0]["name"].as_str()), (Some(id.as_str()), Some("Sora")));

    let shown = json(h, &["agent", "show", &id, "--json"]);
    assert_eq!(shown["spec"], "chara_card_v3");
    assert_eq!(shown["spec_version"], "3.0");
    assert_eq!(shown["data"]["name"], "Sora");
    assert_eq!(shown["data"]["extensions"]["fixture/only"], serde_json::json!([1, 2, 3]));

    for (format, file) in [
        ("ccv3-png", "out.png"),
        ("charx", "out.charx"),
        ("ccv2-json", "v2.json"),
        ("ccv3-json", "v3.json"),
        ("eliza-json", "eliza.json"),
    ] {
        let out = h.join(file);
        ok(h, &["agent", "export", &id, "--format", format, "--out", out.to_str().unwrap()]);
        let again = json(h, &["agent", "import", out.to_str().unwrap(), "--json"]);
        assert_eq!(again["name"], "Sora", "{format}");
    }

    ok(h, &["agent", "set", &id, "first_mes", "Hi again, {{user}}!"]);
    let history = json(h, &["agent", "history", &id, "--json"]);
    assert_eq!(history[0]["version"], 2);
    assert_eq!(history[1]["version"], 1);
    let text = ok(h, &["agent", "history", &id]);
    assert!(text.contains("edit first_mes") && text.contains("import"), "{text}");
    ok(h, &["agent", "restore", &id, "1"]);
    assert_eq!(json(h, &["agent", "show", &id, "--json"])["data"]["first_mes"], "Hello, {{user}}!");

    let deleted = ok(h, &["agent", "delete", &id]);
    assert!(deleted.contains("undelete"), "{deleted}");
    let names: Vec<Value> =
        json(h, &["agent", "list", "--json"]).as_array().unwrap().iter().map(|a| a["id"].clone()).collect();
    assert!(!names.contains(&Value::String(id.clone())));
    ok(h, &["agent", "undelete", &id]);
}

#[test]
fn package_commands_print_the_sha256_and_cid_and_verify() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let card = fixture_path("risu-style.charx");
    let id = json(h, &["agent", "import", card.to_str().unwrap(), "--json"])["id"].as_str().unwrap().to_string();
    let pkg = h.join("risu.familiar");
    let built = ok(h, &["package", "build", &id, "--out", pkg.to_str().unwrap()]);
    let bytes = std::fs::read(&pkg).unwrap();
    let expected = familiar::package::PackageId::of(&bytes);
    assert!(built.contains(&expected.sha256) && built.contains(&expected.cid), "{built}");

    let verified = json(h, &["package", "verify", pkg.to_str().unwrap(), "--sha256", &expected.sha256, "--json"]);
    assert_eq!(verified["sha256"], expected.sha256.as_str());
    assert_eq!(verified["cid"], expected.cid.as_str());
    ok(h, &["package", "inspect", pkg.to_str().unwrap()]);

    let stderr = fails(h, &["package", "verify", pkg.to_str().unwrap(), "--sha256", &"ab".repeat(32)]);
    assert!(stderr.starts_with("error: sha256 mismatch"), "{stderr}");
    let mut tampered = bytes.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 1;
    let bad = write(h, "tampered.familiar", &tampered);
    assert!(fails(h, &["package", "verify", bad.to_str().unwrap()]).starts_with("error: "));

    let imported = json(h, &["package", "import", pkg.to_str().unwrap(), "--json"]);
    assert_eq!(imported["name"], "Risu Rider");
    assert_ne!(imported["id"].as_str().unwrap(), id);
    let unpacked = h.join("unpacked");
    ok(h, &["package", "unpack", pkg.to_str().unwrap(), "--out", unpacked.to_str().unwrap()]);
    assert!(unpacked.join("card.json").is_file());
}

#[test]
fn errors_are_one_clear_line_on_stderr() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let stderr = fails(h, &["agent", "import", "/no/such/card.png"]);
    assert!(stderr.starts_with("error: could not read /no/such/card.png"), "{stderr}");
    let stderr = fails(h, &["agent", "show", "nobody"]);
    assert_eq!(stderr.trim(), "error: no agent matches `nobody`; `familiar agent list` shows them");
    let stderr = fails(h, &["agent", "show", "nobody", "--json"]);
    let err: Value = serde_json::from_str(&stderr).unwrap();
    assert_eq!(err["error"]["code"], "not_found");
    let bad = write(h, "bad.json", b"{\"spec\":\"chara_card_v3\",\"data\":{}}");
    assert_eq!(fails(h, &["agent", "import", bad.to_str().unwrap()]).trim(), "error: invalid card: data.name: missing");
    assert!(fails(h, &["agent", "export", "x", "--format", "docx", "--out", "y"]).contains("unknown format `docx`"));
    assert_eq!(json(h, &["agent", "list", "--json"]), serde_json::json!([]));
}

#[test]
fn setup_installs_the_samples_into_familiar_home() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().join("nested/data");
    let out = ok(&h, &["setup"]);
    for name in ["Lena", "Orbit", "Bram", "Ada"] {
        assert!(out.contains(name), "{out}");
    }
    assert!(h.join("familiar.db").is_file());
    let again = json(&h, &["setup", "--json"]);
    assert_eq!(again["installed"], serde_json::json!([]));
    assert_eq!(again["agents"].as_array().unwrap().len(), 4);
    assert_eq!(again["knowledge"][0]["unchanged"], 1, "the sample knowledge base is not rebuilt");
    // The chat model is placed by the fit check (the CPU, in a build without a
    // GPU backend); the embedding model has its own runtime.
    let models = ok(&h, &["models", "list"]);
    let row = |id: &str| models.lines().find(|l| l.starts_with(id)).unwrap_or_default().to_owned();
    assert!(models.lines().next().unwrap_or_default().contains("RUNS ON"), "{models}");
    #[cfg(not(feature = "cuda"))]
    assert!(row("smollm2-135m-instruct-q4_1").contains(" CPU "), "{models}");
    assert!(row("all-minilm-l6-v2").contains(" - "), "{models}");
}

/// Killing the process at any moment of an import leaves the store whole:
/// either the agent with all its files, or nothing.
#[test]
fn kill_9_during_imports_never_leaves_half_an_agent() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // A CHARX with 24 MiB of incompressible assets, so the import takes a while.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..24 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let card = serde_json::json!({"spec": "chara_card_v3", "data": {"name": "Heavy",
        "assets": [{"type": "x_blob", "uri": "embeded://assets/x_blob/other/noise.bin", "name": "noise", "ext": "bin"}]}});
    let charx = familiar::archive::write_zip([
        ("card.json", card.to_string().as_bytes()),
        ("assets/x_blob/other/noise.bin", noise.as_slice()),
    ])
    .unwrap();
    let path = write(h, "heavy.charx", &charx);
    ok(h, &["agent", "list"]);
    for delay_ms in [5u64, 40, 80, 120, 160, 220, 300] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_familiar"))
            .args(["agent", "import", path.to_str().unwrap()])
            .env("FAMILIAR_HOME", h)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
    }
    let list = json(h, &["agent", "list", "--json"]);
    for agent in list.as_array().unwrap() {
        let id = agent["id"].as_str().unwrap();
        let shown = json(h, &["agent", "show", id, "--json"]);
        assert_eq!(shown["data"]["name"], "Heavy");
        let out = h.join(format!("{id}.charx"));
        ok(h, &["agent", "export", id, "--format", "charx", "--out", out.to_str().unwrap()]);
        let files = familiar::archive::read_zip(&std::fs::read(&out).unwrap(), Default::default()).unwrap();
        assert!(files.values().any(|data| *data == noise), "a stored agent has all of its files");
    }
}
