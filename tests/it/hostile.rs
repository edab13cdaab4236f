//! Hostile and broken input: each is refused with a clear error, and nothing
//! is stored.

use familiar::agent::ImportOptions;
use familiar::api;

use crate::support::*;

/// Imports `bytes` through the API and returns the error message, checking
/// that the store is still empty.
async fn refused(name: &str, bytes: &[u8]) -> String {
    let (dir, studio) = studio().await;
    let path = write(dir.path(), name, bytes);
    let err = api::import_agent(&studio, &path, ImportOptions::default())
        .await
        .expect_err(&format!("{name} must be refused"));
    assert!(api::list_agents(&studio).await.unwrap().is_empty(), "{name}: nothing may be stored");
    err.to_string()
}

fn assert_mentions(message: &str, words: &[&str]) {
    for w in words {
        assert!(message.to_lowercase().contains(&w.to_lowercase()), "`{w}` not in: {message}");
    }
}

fn card_png() -> Vec<u8> {
    png_with_text(&[("ccv3", &b64(v3_card("Bob").as_bytes()))])
}

#[tokio::test]
async fn empty_and_unrecognised_files() {
    assert_eq!(refused("empty.json", b"").await, "the file is empty");
    assert_eq!(
        refused("blank.json", b"  \n ").await,
        "unrecognised file: expected a card PNG, a CHARX archive, card JSON, an elizaOS character or an Ollama Modelfile"
    );
    assert_mentions(&refused("noise.bin", &[7u8; 300]).await, &["unrecognised"]);
    assert_mentions(&refused("text.txt", b"just some notes\nnothing here").await, &["unrecognised"]);
}

#[tokio::test]
async fn png_with_a_wrong_crc_is_refused() {
    let mut png = card_png();
    // Flip one byte inside the ccv3 chunk's text, leaving its CRC as it was.
    let at = png.windows(4).position(|w| w == b"ccv3").unwrap() + 8;
    png[at] ^= 0x01;
    assert_mentions(&refused("crc.png", &png).await, &["invalid png", "crc"]);
}

#[tokio::test]
async fn truncated_png_is_refused() {
    let png = card_png();
    for cut in [10, png.len() / 2, png.len() - 5] {
        assert_mentions(&refused("cut.png", &png[..cut]).await, &["invalid png"]);
    }
}

#[tokio::test]
async fn png_without_a_card_or_with_bad_base64_or_utf8() {
    assert_mentions(&refused("plain.png", &png_with_text(&[])).await, &["no character card"]);
    assert_mentions(
        &refused("b64.png", &png_with_text(&[("ccv3", "not base64 at all!!")])).await,
        &["invalid base64", "ccv3"],
    );
    let bad_utf8 = png_with_text(&[("chara", &b64(b"{\"name\": \"\xff\xfe\"}"))]);
    assert_mentions(&refused("utf8.png", &bad_utf8).await, &["not valid utf-8"]);
    let two = png_with_text(&[("ccv3", &b64(v3_card("A").as_bytes())), ("ccv3", &b64(v3_card("B").as_bytes()))]);
    assert_mentions(&refused("two.png", &two).await, &["more than one `ccv3`"]);
}

#[tokio::test]
async fn invalid_utf8_json_is_refused() {
    assert_eq!(refused("bad.json", b"{\"name\": \"caf\xe9\"}").await, "the text is not valid UTF-8 (at byte 13)");
}

#[tokio::test]
async fn json_nesting_and_size_bombs_are_refused() {
    let deep = format!("{}{}", "{\"a\":[".repeat(5000), "]}".repeat(5000));
    assert_mentions(&refused("deep.json", deep.as_bytes()).await, &["nested too deeply"]);
    let huge = format!("{{\"name\": \"x\", \"description\": \"{}\"}}", "a".repeat(17 << 20));
    assert_mentions(&refused("huge.json", huge.as_bytes()).await, &["more than the limit"]);
}

#[tokio::test]
async fn missing_required_fields_are_refused() {
    let no_name = r#"{"spec":"chara_card_v3","spec_version":"3.0","data":{"description":"nameless"}}"#;
    assert_eq!(refused("noname.json", no_name.as_bytes()).await, "invalid card: data.name: missing");
    let blank = r#"{"spec":"chara_card_v2","data":{"name":"   "}}"#;
    assert_eq!(refused("blank.json", blank.as_bytes()).await, "invalid card: data.name: must not be empty");
    assert_eq!(refused("eliza.json", br#"{"bio": "no name"}"#).await, "invalid card: name: missing");
    assert_mentions(&refused("array.json", b"[1, 2]").await, &["unrecognised"]);
}

#[tokio::test]
async fn zip_entries_that_escape_their_folder_are_refused() {
    let card = v3_card("Z");
    for evil in ["../evil.txt", "assets/../../evil.txt", "/etc/passwd"] {
        let zip = zip_of(&[("card.json", card.as_bytes()), (evil, b"x")]);
        assert_mentions(&refused("slip.charx", &zip).await, &["unsafe path"]);
    }
}

#[tokio::test]
async fn zip_symlinks_are_refused() {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("card.json", options).unwrap();
    writer.write_all(v3_card("S").as_bytes()).unwrap();
    writer.add_symlink("assets/icon/images/main.png", "/etc/shadow", options).unwrap();
    let zip = writer.finish().unwrap().into_inner();
    assert_mentions(&refused("link.charx", &zip).await, &["symbolic link"]);
}

#[tokio::test]
async fn zip_bombs_are_refused() {
    let zeros = vec![0u8; 48 << 20];
    let zip = zip_of(&[("card.json", v3_card("B").as_bytes()), ("assets/other/other/pad.bin", &zeros)]);
    assert!(zip.len() < 1 << 20, "the bomb is small on disk");
    assert_mentions(&refused("bomb.charx", &zip).await, &["expands more than"]);
}

#[tokio::test]
async fn duplicate_zip_entries_are_refused() {
    let mut zip = zip_of(&[("card.json", v3_card("D").as_bytes()), ("card.jsoX", v3_card("E").as_bytes())]);
    // Rename the second entry to the first one's name, in both headers.
    for i in 0..zip.len() - 9 {
        if &zip[i..i + 9] == b"card.jsoX" {
            zip[i + 8] = b'n';
        }
    }
    assert_mentions(&refused("dup.charx", &zip).await, &["more than once"]);
}

#[tokio::test]
async fn charx_without_card_or_with_a_missing_asset_is_refused() {
    assert_mentions(&refused("nocard.charx", &zip_of(&[("readme.txt", b"hi")])).await, &["no card.json"]);
    let card = serde_json::json!({"spec": "chara_card_v3", "data": {"name": "M",
        "assets": [{"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"}]}});
    let zip = zip_of(&[("card.json", card.to_string().as_bytes())]);
    assert_mentions(&refused("missing.charx", &zip).await, &["assets/icon/images/main.png", "not in the archive"]);
    let card = serde_json::json!({"spec": "chara_card_v3", "data": {"name": "M",
        "assets": [{"type": "icon", "uri": "embeded://../../etc/passwd", "name": "main", "ext": "png"}]}});
    let zip = zip_of(&[("card.json", card.to_string().as_bytes())]);
    assert_mentions(&refused("escape.charx", &zip).await, &["unsafe asset path"]);
    assert_mentions(&refused("corrupt.charx", b"PK\x03\x04 garbage that is not a zip").await, &["invalid charx"]);
}

#[tokio::test]
async fn invalid_base64_data_uri_is_refused() {
    let card = serde_json::json!({"spec": "chara_card_v3", "data": {"name": "U",
        "assets": [{"type": "icon", "uri": "data:image/png;base64,@@@@", "name": "main", "ext": "png"}]}});
    assert_mentions(
        &refused("datauri.json", card.to_string().as_bytes()).await,
        &["invalid base64", "data.assets[0].uri"],
    );
}

#[tokio::test]
async fn a_folder_import_refuses_symlinked_and_escaping_assets() {
    let (dir, studio) = studio().await;
    let folder = dir.path().join("card");
    std::fs::create_dir_all(folder.join("assets")).unwrap();
    std::fs::write(dir.path().join("secret.txt"), b"secret").unwrap();
    for uri in ["embeded://../secret.txt", "embeded://assets/link.png"] {
        let card = serde_json::json!({"spec": "chara_card_v3", "data": {"name": "F",
            "assets": [{"type": "icon", "uri": uri, "name": "main", "ext": "png"}]}});
        std::fs::write(folder.join("card.json"), card.to_string()).unwrap();
        let _ = std::fs::remove_file(folder.join("assets/link.png"));
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), folder.join("assets/link.png")).unwrap();
        let err = api::import_agent(&studio, &folder, ImportOptions::default()).await.unwrap_err().to_string();
        assert_mentions(&err, &["unsafe asset path"]);
    }
    assert!(api::list_agents(&studio).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_modelfiles_are_refused_with_their_line() {
    assert_eq!(
        refused("Modelfile", b"FROM llama3\nPARAMETER top_k many\n").await,
        "invalid Modelfile, line 2: PARAMETER top_k: `many` is not a valid number"
    );
    assert_eq!(
        refused("Modelfile", b"FROM llama3\nMESSAGE wizard hello\n").await,
        "invalid Modelfile, line 2: MESSAGE role `wizard` is not system, user or assistant"
    );
}
