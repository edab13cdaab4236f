//! Every card format in and out: field by field, with unicode, unknown
//! extensions and macros intact.

use familiar::agent::{self, Agent, AgentSpec, EntryId, ExportFormat, Format, ImportOptions};
use serde_json::{Value, json};

use crate::support::*;

const ROUND_TRIP_FORMATS: [ExportFormat; 4] =
    [ExportFormat::Ccv3Json, ExportFormat::Ccv2Json, ExportFormat::Charx, ExportFormat::Ccv3Png];

/// A PNG must have an image: an agent without an avatar gains a generated
/// main icon on the way (in place of its `ccdefault:` icon, if it had one).
/// Everything else must come back unchanged.
fn without_generated_icon(original: &Agent, back: &Agent) -> Value {
    let mut d = data(back);
    if original.avatar().is_some() {
        return d;
    }
    let before = data(original);
    let old_icon = before["assets"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["type"] == "icon" && a["name"] == "main"))
        .cloned();
    let assets = d["assets"].as_array_mut().unwrap();
    let at = assets.iter().position(|a| a["type"] == "icon" && a["name"] == "main").unwrap();
    assert!(assets[at]["uri"].as_str().unwrap().starts_with("embeded://"));
    match old_icon {
        Some(icon) => assets[at] = icon,
        None => {
            assets.remove(at);
            if before.get("assets").is_none() {
                d.as_object_mut().unwrap().shift_remove("assets");
            }
        }
    }
    d
}

#[test]
fn every_export_format_round_trips_every_field() {
    for (name, original) in corpus() {
        for format in ROUND_TRIP_FORMATS {
            let back = import(&export(&original, format)).agent;
            if format == ExportFormat::Ccv3Png {
                assert_eq!(without_generated_icon(&original, &back), data(&original), "{name} via {format:?}");
                if original.avatar().is_some() {
                    assert_eq!(back, original, "{name} via {format:?}");
                }
            } else {
                assert_eq!(data(&back), data(&original), "{name} via {format:?}");
                assert_eq!(back, original, "{name} via {format:?}: files differ");
            }
        }
    }
}

#[test]
fn v3_json_imports_every_field() {
    let imported = import(&fixture("v3-full.json"));
    assert_eq!(imported.format, Format::CardV3Json);
    let agent = imported.agent;
    let s = agent.spec();
    assert_eq!(s.name, "Yara يارا");
    assert_eq!(s.nickname.as_deref(), Some("Captain Yara"));
    assert!(s.description.contains("مرحبا, {{user}}! ✈️"));
    assert_eq!(s.creator_notes_multilingual.as_ref().unwrap()["ja"], "テストカード");
    assert_eq!(s.group_only_greetings, ["Crew, {{user}} is with us today."]);
    assert_eq!(s.alternate_greetings.len(), 1);
    assert_eq!(s.source.as_deref(), Some(&["https://example.com/yara".to_string()][..]));
    assert_eq!((s.creation_date, s.modification_date), (Some(1_764_000_000), Some(1_764_028_800)));
    assert_eq!(s.tags, ["adventure", "airship"]);
    assert_eq!(s.character_version, "3.1");

    let book = s.character_book.as_ref().unwrap();
    assert_eq!((book.scan_depth, book.token_budget, book.recursive_scanning), (Some(6), Some(400), Some(true)));
    assert_eq!(book.extensions["risu/lorebook"], 1);
    let qamar = &book.entries[0];
    assert!(qamar.use_regex);
    assert_eq!(qamar.keys, ["/qamar|moon ?ship/i"]);
    assert_eq!(qamar.id, Some(EntryId::Text("qamar-1".into())));
    assert!(qamar.content.starts_with("@@depth 2\n@@@role system\n"), "decorators are kept verbatim");
    assert_eq!(
        (qamar.priority, qamar.case_sensitive, qamar.position.as_deref()),
        (Some(5), Some(false), Some("before_char"))
    );
    assert_eq!(book.entries[1].constant, Some(true));
    assert_eq!(book.entries[1].id, Some(EntryId::Number(2)));

    // The data: URI became an embedded file; other URIs are kept as they are.
    let assets = s.assets.as_ref().unwrap();
    assert_eq!(assets[0].uri, "ccdefault:");
    assert_eq!(assets[1].uri, "embeded://assets/emotion/images/happy.png");
    assert!(agent.files()["assets/emotion/images/happy.png"].starts_with(b"\x89PNG"));
    assert_eq!(assets[2].uri, "https://example.com/theme.css");

    // Familiar's own settings are typed; unknown extensions are kept.
    let sampling = s.familiar.sampling.as_ref().unwrap();
    assert_eq!((sampling.temperature, sampling.seed), (Some(0.8), Some(7)));
    assert_eq!(sampling.stop, ["</s>"]);
    assert_eq!(s.familiar.voice.as_ref().unwrap().preset.as_deref(), Some("en_US-joe-medium"));
    assert_eq!(s.familiar.knowledge[0].name, "airship-manual");
    assert_eq!(s.extensions["risuai"], json!({ "bias": [["storm", -5]], "viewScreen": "none" }));
    assert_eq!(s.extensions["familiar/future-setting"], json!({ "keep": true }));
    assert_eq!(s.extra["x_custom_root_field"], json!({ "kept": "yes" }));
}

#[test]
fn unknown_extensions_and_macros_survive_every_format() {
    let original = import(&fixture("st-v2-export.json")).agent;
    let expected_ext = json!({
        "talkativeness": "0.5",
        "fav": false,
        "world": "Kyoto Tea House",
        "depth_prompt": { "prompt": "{{char}} is pouring tea.", "depth": 4, "role": "system" },
        "chub/full_path": "familiar-tests/mei-ling",
        "regex_scripts": [{ "scriptName": "trim", "findRegex": "/\\s+$/", "replaceString": "" }]
    });
    for format in ROUND_TRIP_FORMATS {
        let back = import(&export(&original, format)).agent;
        let d = data(&back);
        assert_eq!(d["extensions"], expected_ext, "{format:?}");
        let entry_ext = &d["character_book"]["entries"][0]["extensions"];
        assert_eq!(entry_ext["probability"], 100, "{format:?}");
        assert_eq!(entry_ext["scan_depth"], Value::Null, "{format:?}: null values are kept");
        assert_eq!(d["first_mes"], "いらっしゃいませ! Welcome, {{user}}. 请坐 🙂");
        assert_eq!(d["creator_notes"], "Written for Familiar's tests. שלום — right-to-left text: مرحبا بالعالم");
        assert_eq!(
            d["mes_example"],
            "<START>\n{{user}}: What tea do you recommend?\n{{char}}: Today, a gyokuro. 很好喝!"
        );
    }
    let v1 = import(&fixture("v1.json")).agent;
    for format in ROUND_TRIP_FORMATS {
        let back = import(&export(&v1, format)).agent;
        assert_eq!(back.spec().mes_example, "<START>\n<USER>: Is the light on?\n<BOT>: Always.");
    }
}

#[test]
fn a_sillytavern_v2_export_prefers_data_over_the_root_mirrors() {
    let imported = import(&fixture("st-v2-export.json"));
    assert_eq!(imported.format, Format::CardV2Json);
    let s = imported.agent.spec();
    assert_eq!(s.name, "Mei Ling 美玲");
    assert_eq!(s.system_prompt, "You are {{char}}. Stay in character. Original system prompt: {{original}}");
    assert_eq!(s.alternate_greetings.len(), 2);
    let book = s.character_book.as_ref().unwrap();
    assert_eq!(book.entries.len(), 2);
    assert_eq!(book.entries[1].secondary_keys.as_deref(), Some(&["evening".to_string()][..]));
    assert!(!book.entries[1].enabled);
    assert_eq!(book.entries[1].selective, Some(true));
    // Root-level keys SillyTavern adds are not part of `data` and are not invented there.
    assert!(!s.extra.contains_key("talkativeness"));
}

#[test]
fn v2_json_export_mirrors_v1_fields_at_the_root() {
    let agent = import(&fixture("v1.json")).agent;
    assert_eq!(agent.spec().description, "<BOT> is a lighthouse keeper who talks to <USER> over the radio.");
    let v2: Value = serde_json::from_slice(&export(&agent, ExportFormat::Ccv2Json)).unwrap();
    assert_eq!(v2["spec"], "chara_card_v2");
    assert_eq!(v2["spec_version"], "2.0");
    assert_eq!(v2["name"], "Old Tom");
    assert_eq!(v2["first_mes"], v2["data"]["first_mes"]);
    let v3: Value = serde_json::from_slice(&export(&agent, ExportFormat::Ccv3Json)).unwrap();
    assert_eq!((v3["spec"].as_str(), v3["spec_version"].as_str()), (Some("chara_card_v3"), Some("3.0")));
}

#[test]
fn png_ccv3_chunk_wins_over_chara_and_asset_chunks_are_read() {
    let imported = import(&fixture("st-v3.png"));
    assert_eq!(imported.format, Format::CardPng);
    let agent = imported.agent;
    assert_eq!(agent.name(), "Sora");
    assert_eq!(agent.spec().extensions["fixture/only"], json!([1, 2, 3]));
    let chime = agent.spec().assets.as_ref().unwrap().iter().find(|a| a.name == "chime").unwrap();
    assert_eq!(agent.files()[chime.embedded_path().unwrap()], b"OggS-not-really-audio-but-bytes-".repeat(4));
    // The avatar is the image itself, less the card chunks (other metadata stays).
    let (avatar, ext) = agent.avatar().unwrap();
    assert_eq!(ext, "png");
    let text =
        png::Decoder::new(std::io::Cursor::new(avatar)).read_info().unwrap().info().uncompressed_latin1_text.clone();
    assert_eq!(text.iter().map(|c| c.keyword.as_str()).collect::<Vec<_>>(), ["Title"]);
}

#[test]
fn png_with_only_a_chara_chunk_imports_as_v2() {
    let v2 = json!({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Only V2", "first_mes": "hi"}});
    let png = png_with_text(&[("chara", &b64(v2.to_string().as_bytes()))]);
    let agent = import(&png).agent;
    assert_eq!(agent.name(), "Only V2");
    assert!(agent.avatar().is_some());
    let exported = export(&agent, ExportFormat::Ccv3Png);
    let decoder = png::Decoder::new(std::io::Cursor::new(exported.as_slice()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    reader.finish().unwrap();
    let keys: Vec<String> = reader.info().uncompressed_latin1_text.iter().map(|c| c.keyword.clone()).collect();
    assert_eq!(keys, ["chara", "ccv3"], "a V2 fallback and the V3 card");
}

#[test]
fn charx_from_another_tool_keeps_its_assets_and_ignores_extra_files() {
    let imported = import(&fixture("risu-style.charx"));
    assert_eq!(imported.format, Format::Charx);
    let agent = imported.agent;
    assert_eq!(agent.name(), "Risu Rider");
    assert_eq!(agent.spec().group_only_greetings, ["Hello, everyone!"]);
    let paths: Vec<&str> = agent.files().keys().map(String::as_str).collect();
    // Files move to the canonical layout, named after their asset.
    assert_eq!(
        paths,
        ["assets/emotion/images/joy.png", "assets/icon/images/main.png", "assets/x_sound/audio/hello.ogg"]
    );
    assert!(agent.avatar().unwrap().0.starts_with(b"\x89PNG"));
}

#[test]
fn samples_import_from_their_folders() {
    for slug in ["lena", "orbit", "bram"] {
        let imported = agent::import_dir(&sample_dir(slug), &ImportOptions::default()).unwrap();
        assert_eq!(imported.format, Format::CharxFolder);
        assert!(imported.agent.avatar().is_some(), "{slug}");
    }
}

#[test]
fn elizaos_current_schema_maps_to_card_fields_and_back_exactly() {
    let imported = import(&fixture("eliza-current.json"));
    assert_eq!(imported.format, Format::ElizaJson);
    assert_eq!(imported.warnings.len(), 1, "secrets are dropped with a warning: {:?}", imported.warnings);
    let s = imported.agent.spec().clone();
    assert_eq!(s.name, "Pip");
    assert_eq!(
        s.description,
        "Pip grows vegetables on a balcony in Lisbon.\nPip believes every seed deserves a chance."
    );
    assert_eq!(s.personality, "cheerful, patient, practical");
    assert_eq!(s.system_prompt, "You are Pip, a cheerful gardening assistant.");
    assert_eq!(s.post_history_instructions, "ask one question back\nuse plain words");
    assert_eq!(
        s.mes_example,
        "<START>\n{{user}}: My basil is wilting.\n{{char}}: Water it at the base, in the morning!\n\
         <START>\n{{user}}: When do I plant tomatoes?\n{{char}}: After the last frost — usually April here."
    );
    assert!(!serde_json::to_string(&imported.agent.card_json()).unwrap().contains("sk-should-never-be-stored"));

    let mut original: Value = serde_json::from_slice(&fixture("eliza-current.json")).unwrap();
    original.as_object_mut().unwrap().shift_remove("secrets");
    let exported: Value = serde_json::from_slice(&export(&imported.agent, ExportFormat::ElizaJson)).unwrap();
    assert_eq!(exported, original, "an unedited agent exports the original fields exactly");

    // An edited field is derived again from the card.
    let edited = AgentSpec { personality: "calm, wise".into(), ..s };
    let agent = imported.agent.with_spec(edited).unwrap();
    let exported: Value = serde_json::from_slice(&export(&agent, ExportFormat::ElizaJson)).unwrap();
    assert_eq!(exported["adjectives"], json!(["calm", "wise"]));
    assert_eq!(exported["bio"], original["bio"]);
}

#[test]
fn elizaos_newest_example_groups_are_read() {
    let agent = import(&fixture("eliza-newest.json")).agent;
    assert_eq!(
        agent.spec().mes_example,
        "<START>\n{{user}}: Is my opening too slow?\n{{char}}: Cut the first paragraph and see."
    );
    assert_eq!(agent.spec().description, "Quill edits short stories.");
}

#[test]
fn elizaos_legacy_v0_is_migrated_and_exports_the_current_schema() {
    let imported = import(&fixture("eliza-v0.json"));
    assert_eq!(imported.format, Format::ElizaLegacyJson);
    assert!(imported.warnings.iter().any(|w| w.contains("settings.secrets")));
    let s = imported.agent.spec();
    assert_eq!(
        s.description,
        "Brisk is a running coach who hates excuses.\nBrisk ran the Lisbon marathon in 2:58.\nBrisk once coached a goat (long story)."
    );
    assert_eq!(
        s.mes_example,
        "<START>\n{{user}}: I skipped my run today.\n{{char}}: Then tomorrow we run twice as smart."
    );
    let legacy = &s.extensions["familiar/eliza"]["legacy"];
    assert_eq!(legacy["modelProvider"], "openai");
    assert_eq!(legacy["clients"], json!(["discord"]));
    assert!(!serde_json::to_string(&imported.agent.card_json()).unwrap().contains("never-store-me"));

    let exported: Value = serde_json::from_slice(&export(&imported.agent, ExportFormat::ElizaJson)).unwrap();
    let keys: Vec<&str> = exported.as_object().unwrap().keys().map(String::as_str).collect();
    for gone in ["lore", "modelProvider", "clients"] {
        assert!(!keys.contains(&gone), "{gone} is not in the current schema");
    }
    assert_eq!(
        exported["messageExamples"][0][1],
        json!({ "name": "Brisk", "content": { "text": "Then tomorrow we run twice as smart." } })
    );
    assert_eq!(exported["settings"]["voice"]["model"], "en_US-male-medium");
    // And the export imports again as a current-schema character.
    assert_eq!(import(&serde_json::to_vec(&exported).unwrap()).format, Format::ElizaJson);
}

#[test]
fn a_native_agent_exports_to_elizaos() {
    let agent = agent::import_dir(&sample_dir("bram"), &ImportOptions::default()).unwrap().agent;
    let exported: Value = serde_json::from_slice(&export(&agent, ExportFormat::ElizaJson)).unwrap();
    assert_eq!(exported["name"], "Bram");
    assert!(exported["bio"].as_array().is_some_and(|b| !b.is_empty()));
    assert!(exported["messageExamples"].as_array().is_some_and(|m| !m.is_empty()));
    assert_eq!(exported["messageExamples"][0][0]["name"], "{{user1}}");
    let back = import(&serde_json::to_vec(&exported).unwrap()).agent;
    assert_eq!(
        back.spec().description,
        agent.spec().description.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn ollama_modelfile_becomes_a_persona_with_sampling_settings() {
    let imported = import_named(&fixture("persona.Modelfile"), "persona.Modelfile");
    assert_eq!(imported.format, Format::Modelfile);
    let s = imported.agent.spec();
    assert_eq!(s.name, "persona");
    assert_eq!(
        s.system_prompt,
        "You are Captain Byte, a pirate who explains Linux commands.\nFROM the deck of your ship, you teach with nautical jokes."
    );
    assert_eq!(s.mes_example, "<START>\n{{user}}: How do I list files?\n{{char}}: Arr, use ls -la, matey!");
    let sampling = s.familiar.sampling.as_ref().unwrap();
    assert_eq!((sampling.temperature, sampling.top_k), (Some(0.6), Some(30)));
    assert_eq!(sampling.stop, ["<|eot_id|>", "<|end|>"]);
    assert_eq!(s.familiar.model.as_ref().unwrap().context_length, Some(8192));
    let ollama = &s.extensions["familiar/ollama"];
    assert_eq!(ollama["from"], "llama3.2:3b");
    assert!(ollama["template"].as_str().unwrap().starts_with("{{ if .System }}"));
    assert_eq!(ollama["parameters"]["mirostat"], "0");
    assert_eq!(ollama["license"], json!(["MIT"]));
    // Without a file name, the model it was built FROM names it.
    assert_eq!(import(&fixture("persona.Modelfile")).agent.name(), "llama3.2");
}

#[test]
fn invalid_cards_get_field_level_errors() {
    let err = |doc: Value| {
        agent::import_bytes(doc.to_string().as_bytes(), &ImportOptions::default()).unwrap_err().to_string()
    };
    assert_eq!(
        err(json!({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"description": "x"}})),
        "invalid card: data.name: missing"
    );
    assert_eq!(err(json!({"spec": "chara_card_v3", "spec_version": "3.0"})), "invalid card: data: missing");
    let e = err(json!({"spec": "chara_card_v3", "data": {"name": "A", "tags": ["ok", 3], "first_mes": 5,
        "character_book": {"entries": [{"keys": "not a list", "insertion_order": "first"}]}}}));
    for part in [
        "data.tags[1]: expected a string, found a number",
        "data.first_mes: expected a string, found a number",
        "data.character_book.entries[0].keys: expected an array of strings, found a string",
        "data.character_book.entries[0].insertion_order: expected an integer, found a string",
    ] {
        assert!(e.contains(part), "{part} in {e}");
    }
    let e = err(
        json!({"spec": "chara_card_v3", "data": {"name": "A", "extensions": {"familiar/sampling": {"temperature": "hot"}}}}),
    );
    assert!(e.starts_with("invalid card: data.extensions.familiar/sampling: invalid type: string \"hot\""), "{e}");
    assert!(err(json!({"spec": "lorebook_v3", "data": {}})).contains("standalone lorebook"));
    assert_eq!(err(json!({"spec": "chara_card_v9"})), "unsupported card spec `chara_card_v9`");
    assert!(err(json!({"name": "Eliza", "bio": 5})).contains("bio: expected a string or an array of strings"));
}
