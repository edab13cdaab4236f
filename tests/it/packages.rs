//! Agent packages: deterministic bytes, content identity, tamper detection.

use std::collections::BTreeMap;
use std::sync::Arc;

use familiar::agent::{Agent, AgentSpec, Asset};
use familiar::api;
use familiar::package::{self, PackageError, PackageId};
use proptest::prelude::*;
use sha2::Digest;

use crate::support::*;

/// An agent whose assets list `files` in order, with its file map filled in
/// the order of `arrival`.
fn agent_with(name: &str, description: &str, files: &[(String, Vec<u8>)], arrival: &[(String, Vec<u8>)]) -> Agent {
    let assets = files
        .iter()
        .enumerate()
        .map(|(i, (path, _))| Asset {
            kind: if i == 0 { "icon".into() } else { "x_data".into() },
            uri: format!("embeded://{path}"),
            name: if i == 0 { "main".into() } else { format!("f{i}") },
            ext: "bin".into(),
            extra: Default::default(),
        })
        .collect();
    let spec =
        AgentSpec { name: name.into(), description: description.into(), assets: Some(assets), ..Default::default() };
    let mut map = BTreeMap::new();
    for (path, data) in arrival {
        map.insert(path.clone(), data.clone());
    }
    Agent::new(spec, map).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Same agent → byte-identical package, whatever order its files arrive in.
    #[test]
    fn packages_are_deterministic(
        name in "\\PC{1,20}",
        description in "\\PC{0,200}",
        contents in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2048), 1..5),
        seed in any::<u64>(),
    ) {
        prop_assume!(!name.trim().is_empty());
        let files: Vec<(String, Vec<u8>)> =
            contents.into_iter().enumerate().map(|(i, c)| (format!("assets/x/other/file{i}.bin"), c)).collect();
        let mut shuffled = files.clone();
        // A seeded Fisher–Yates shuffle of the input order.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let a = package::build(&agent_with(&name, &description, &files, &files)).unwrap();
        let b = package::build(&agent_with(&name, &description, &files, &shuffled)).unwrap();
        prop_assert_eq!(&a.bytes, &b.bytes);
        prop_assert_eq!(&a.id, &b.id);
        prop_assert_eq!(&a.id, &PackageId::of(&a.bytes));
        let opened = package::open(&a.bytes).unwrap();
        prop_assert_eq!(opened.agent, agent_with(&name, &description, &files, &files));
    }
}

#[tokio::test]
async fn the_clock_never_reaches_the_package() {
    let card = fixture("st-v3.png");
    let mut built = Vec::new();
    for now in [0, 1_764_028_800, 4_102_444_800] {
        let (dir, studio) = studio().await;
        let studio = studio.with_clock(Arc::new(move || now));
        let path = write(dir.path(), "card.png", &card);
        let id = api::import_agent(&studio, &path, Default::default()).await.unwrap().id;
        let out = dir.path().join("agent.familiar");
        api::build_package(&studio, &id, &out).await.unwrap();
        built.push(std::fs::read(out).unwrap());
    }
    assert!(built.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn the_identity_is_the_sha256_and_a_raw_cidv1() {
    let built = package::build(&import(&fixture("v3-full.json")).agent).unwrap();
    assert_eq!(built.id.sha256, hex::encode(sha2::Sha256::digest(&built.bytes)));
    assert!(built.id.cid.starts_with("bafkrei"), "{}", built.id.cid);
    let report = package::verify(&built.bytes, Some(&built.id.sha256)).unwrap();
    assert_eq!(report.id, built.id);
}

#[test]
fn any_flipped_byte_fails_verification() {
    let built = package::build(&import(&fixture("risu-style.charx")).agent).unwrap();
    let bytes = built.bytes;
    for at in (0..bytes.len()).step_by(7) {
        let mut tampered = bytes.clone();
        tampered[at] ^= 0x20;
        assert!(package::verify(&tampered, None).is_err(), "flipping byte {at} went unnoticed");
        assert!(matches!(package::verify(&tampered, Some(&built.id.sha256)), Err(PackageError::Sha256Mismatch { .. })));
    }
}

#[test]
fn a_wrong_or_malformed_sha256_is_reported() {
    let built = package::build(&import(&fixture("v1.json")).agent).unwrap();
    let wrong = "0".repeat(64);
    let err = package::verify(&built.bytes, Some(&wrong)).unwrap_err().to_string();
    assert!(err.starts_with("sha256 mismatch: expected 0000"), "{err}");
    assert!(matches!(package::verify(&built.bytes, Some("xyz")), Err(PackageError::BadSha256(_))));
}

#[test]
fn altered_packages_are_refused() {
    let agent = import(&fixture("risu-style.charx")).agent;
    let built = package::build(&agent).unwrap();
    let mut files = familiar::archive::read_zip(&built.bytes, Default::default()).unwrap();

    let mut extra = files.clone();
    extra.insert("assets/x/other/sneaky.sh".into(), b"rm -rf ~".to_vec());
    let rezip = |f: &BTreeMap<String, Vec<u8>>| {
        familiar::archive::write_zip(f.iter().map(|(k, v)| (k.as_str(), v.as_slice()))).unwrap()
    };
    assert!(
        matches!(package::open(&rezip(&extra)), Err(PackageError::UnlistedFile(p)) if p == "assets/x/other/sneaky.sh")
    );

    let mut changed = files.clone();
    changed.insert("card.json".into(), b"{}".to_vec());
    assert!(matches!(package::open(&rezip(&changed)), Err(PackageError::FileMismatch(p)) if p == "card.json"));

    files.remove("familiar.json");
    assert!(matches!(package::open(&rezip(&files)), Err(PackageError::NoManifest)));

    let slip = zip_of(&[("familiar.json", b"{}"), ("../card.json", b"{}")]);
    assert!(matches!(package::open(&slip), Err(PackageError::Archive(_))));
    assert!(package::open(b"").is_err());
}

#[test]
fn unpack_writes_every_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let built = package::build(&import(&fixture("risu-style.charx")).agent).unwrap();
    let path = write(dir.path(), "a.familiar", &built.bytes);
    let out = dir.path().join("unpacked");
    let report = api::unpack_package(&path, &out).unwrap();
    assert_eq!(report.name, "Risu Rider");
    for file in &report.files {
        let data = std::fs::read(out.join(&file.path)).unwrap();
        assert_eq!(hex::encode(sha2::Sha256::digest(&data)), file.sha256);
    }
    assert!(out.join("familiar.json").is_file());
    // The unpacked folder is a CHARX folder that imports to the same agent.
    let again = familiar::agent::import_dir(&out, &Default::default()).unwrap().agent;
    assert_eq!(again, import(&fixture("risu-style.charx")).agent);
    let err = api::unpack_package(&path, &out).unwrap_err().to_string();
    assert!(err.contains("already exists"), "{err}");
}
