//! Knowledge bases on real documents: the Jargon File 4.4.7 (public domain)
//! as plain text, HTML, PDF, DOCX, EPUB and Markdown
//! (`tests/fixtures/knowledge`, `agents/ada/knowledge`), embedded with the
//! bundled all-MiniLM-L6-v2.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use familiar::api::{self, Studio};
use familiar::knowledge::{IngestReport, Mode, SearchOptions};
use familiar_infer::CancelToken;
use serde_json::Value;

use crate::support::*;

fn corpus() -> Vec<PathBuf> {
    vec![root().join("tests/fixtures/knowledge"), root().join("agents/ada/knowledge")]
}

/// One ingest of the corpus, shared: each test works on a copy of its database.
struct Template {
    dir: PathBuf,
    report: IngestReport,
}

static TEMPLATE: OnceLock<Template> = OnceLock::new();

fn template() -> &'static Template {
    TEMPLATE.get_or_init(|| {
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(async {
                let dir = shared_dir("knowledge-template");
                let studio = studio_at(&dir).await;
                api::install_bundled_embedding_model(&studio).await.unwrap().expect("the embedding model installs");
                api::create_knowledge_base(&studio, "jargon", Default::default()).await.unwrap();
                let report = api::add_to_knowledge_base(&studio, "jargon", &corpus(), &|_| {}, &CancelToken::default())
                    .await
                    .unwrap();
                studio.close().await;
                Template { dir, report }
            })
        })
        .join()
        .unwrap()
    })
}

/// A data folder holding a copy of the ingested corpus (models shared by a link).
fn jargon_home() -> tempfile::TempDir {
    let t = template();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(t.dir.join("familiar.db"), dir.path().join("familiar.db")).unwrap();
    std::os::unix::fs::symlink(t.dir.join("models"), dir.path().join("models")).unwrap();
    dir
}

/// A studio on a copy of the ingested corpus.
async fn jargon() -> (tempfile::TempDir, Studio) {
    let dir = jargon_home();
    let studio = studio_at(dir.path()).await;
    (dir, studio)
}

fn normalized(text: &str) -> String {
    text.replace(['‘', '’'], "'").split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

async fn search(studio: &Studio, query: &str, limit: usize, mode: Mode) -> Vec<familiar::knowledge::Hit> {
    let options = SearchOptions { limit, mode, mmr: None };
    api::search_knowledge(studio, &["jargon".into()], &[query.into()], &options).await.unwrap()
}

#[tokio::test]
async fn every_format_is_read_from_real_files_with_its_structure() {
    let report = &template().report;
    assert_eq!((report.added, report.failed), (6, 2), "{report:#?}");
    let failed: Vec<_> = report.files.iter().filter(|f| f.status == "failed").collect();
    assert!(
        failed.iter().any(|f| f.path.ends_with("encrypted.pdf") && f.error.as_ref().unwrap().contains("encrypted"))
    );
    assert!(failed.iter().any(|f| f.path.ends_with("image-only.pdf") && f.error.as_ref().unwrap().contains("no text")));

    let (_dir, studio) = jargon().await;
    let (kb, docs) = api::knowledge_base(&studio, "jargon").await.unwrap();
    let kinds: Vec<&str> = docs.iter().map(|d| d.kind.as_str()).collect();
    for kind in ["text", "html", "pdf", "docx", "epub", "markdown"] {
        assert!(kinds.contains(&kind), "no {kind} document in {kinds:?}");
    }
    assert!(docs.iter().all(|d| d.chunks > 5), "{docs:#?}");
    assert_eq!(kb.chunks, docs.iter().map(|d| d.chunks).sum::<i64>());

    // Citations name the page (PDF) or the section (formats with headings).
    let cases = [
        ("magic smoke trapped inside IC packages", "lexicon-i-m.pdf", "page "),
        (
            "heisenbug debugger alters the behavior",
            "lexicon-e-h.html",
            "section The Jargon Lexicon, E to H › heisenbug",
        ),
        ("nybble four bits half a byte", "lexicon-n-r.docx", "section The Jargon Lexicon, N to R › nybble"),
        ("spaghetti code GOTOs kangaroo code", "lexicon-s-z.epub", "section Entries under S › spaghetti code"),
        (
            "hackers use quotes as balanced delimiters",
            "jargon-file-chapters.md",
            "section The Jargon File (version 4.4.7) › Chapter 5. Hacker Writing Style",
        ),
        ("bikeshedding bicycle shed color", "lexicon-a-d.txt", "chunk "),
    ];
    for (query, document, location) in cases {
        let hits = search(&studio, query, 3, Mode::Hybrid).await;
        let hit = &hits[0];
        assert_eq!(hit.document, document, "{query}: {hits:#?}");
        assert!(hit.location.starts_with(location), "{query}: {} (want {location})", hit.location);
    }
    // The PDF's page is the real one: the entry sits on the page the citation names.
    let hit = &search(&studio, "magic smoke trapped inside IC packages", 1, Mode::Hybrid).await[0];
    let page = hit.chunk.page.unwrap();
    let pages = pdf_extract::extract_text_from_mem_by_pages(
        &std::fs::read(root().join("tests/fixtures/knowledge/lexicon-i-m.pdf")).unwrap(),
    )
    .unwrap();
    assert!(normalized(&pages[page as usize - 1]).contains("a substance trapped inside ic packages"), "page {page}");
}

#[tokio::test]
async fn every_hit_carries_the_scores_that_ranked_it() {
    let (_dir, studio) = jargon().await;
    let hits = search(&studio, "What is a heisenbug?", 5, Mode::Hybrid).await;
    assert!(hits.windows(2).all(|w| w[0].scores.fused >= w[1].scores.fused));
    let top = &hits[0];
    assert!(top.scores.bm25.is_some() && top.scores.vector.is_some(), "{:?}", top.scores);
    assert!(top.chunk.text.to_lowercase().contains("heisenbug"));
    let keyword = search(&studio, "heisenbug", 5, Mode::Bm25).await;
    assert!(keyword.iter().all(|h| h.scores.vector.is_none() && h.scores.bm25_rank.is_some()));
    let semantic = search(&studio, "heisenbug", 5, Mode::Vector).await;
    assert!(semantic.iter().all(|h| h.scores.bm25.is_none() && h.scores.vector.unwrap() > 0.0));
    // MMR trades some relevance for variety: no two results are near-copies.
    let options = SearchOptions { limit: 5, mode: Mode::Hybrid, mmr: Some(0.5) };
    let diverse = api::search_knowledge(&studio, &["jargon".into()], &["bug".into()], &options).await.unwrap();
    assert_eq!(diverse.len(), 5);
}

#[tokio::test]
async fn hybrid_retrieval_beats_keywords_and_vectors_alone() {
    let (_dir, studio) = jargon().await;
    let set: Value =
        serde_json::from_slice(&std::fs::read(root().join("tests/fixtures/knowledge/eval.json")).unwrap()).unwrap();
    let questions = set["questions"].as_array().unwrap();
    let mut results = Vec::new();
    for mode in [Mode::Bm25, Mode::Vector, Mode::Hybrid] {
        let (mut found, mut reciprocal) = (0, 0.0);
        for q in questions {
            let expect = normalized(q["expect"].as_str().unwrap());
            let hits = search(&studio, q["q"].as_str().unwrap(), 5, mode).await;
            if let Some(rank) = hits.iter().position(|h| normalized(&h.chunk.text).contains(&expect)) {
                found += 1;
                reciprocal += 1.0 / (rank + 1) as f64;
                assert_eq!(hits[rank].document, q["doc"].as_str().unwrap());
            }
        }
        let n = questions.len() as f64;
        results.push((mode, found as f64 / n, reciprocal / n));
    }
    for (mode, recall, mrr) in &results {
        eprintln!("{mode:?}: recall@5 {recall:.3}, MRR {mrr:.3} over {} questions", questions.len());
    }
    let [(_, bm25_recall, bm25_mrr), (_, vector_recall, vector_mrr), (_, recall, mrr)] = results[..] else {
        unreachable!()
    };
    assert!(
        recall > bm25_recall && recall > vector_recall,
        "recall@5: hybrid {recall} vs {bm25_recall} / {vector_recall}"
    );
    assert!(mrr > bm25_mrr && mrr > vector_mrr, "MRR: hybrid {mrr} vs {bm25_mrr} / {vector_mrr}");
    assert!(recall >= 0.8, "hybrid recall@5 {recall}");
}

#[tokio::test]
async fn unchanged_documents_are_skipped_and_changed_ones_replaced() {
    let (_dir, studio) = jargon().await;
    let before = api::knowledge_base(&studio, "jargon").await.unwrap().0.chunks;
    let again =
        api::add_to_knowledge_base(&studio, "jargon", &corpus(), &|_| {}, &CancelToken::default()).await.unwrap();
    assert_eq!((again.added, again.updated, again.unchanged, again.chunks), (0, 0, 6, 0));
    assert_eq!(api::knowledge_base(&studio, "jargon").await.unwrap().0.chunks, before);

    let notes = tempfile::tempdir().unwrap();
    let file = write(notes.path(), "notes.md", b"# Notes\n\nThe zorblatt protocol retries three times.\n");
    let first =
        api::add_to_knowledge_base(&studio, "jargon", std::slice::from_ref(&file), &|_| {}, &CancelToken::default())
            .await
            .unwrap();
    assert_eq!(first.added, 1);
    assert_eq!(search(&studio, "zorblatt", 3, Mode::Bm25).await.len(), 1);
    std::fs::write(&file, "# Notes\n\nThe quuxinator protocol retries five times.\n").unwrap();
    let second =
        api::add_to_knowledge_base(&studio, "jargon", std::slice::from_ref(&file), &|_| {}, &CancelToken::default())
            .await
            .unwrap();
    assert_eq!(second.updated, 1);
    assert!(search(&studio, "zorblatt", 3, Mode::Bm25).await.is_empty(), "the old version's chunks are gone");
    assert_eq!(search(&studio, "quuxinator", 3, Mode::Bm25).await.len(), 1);

    // Deleting a document takes its chunks out of both indexes.
    api::remove_knowledge_document(&studio, "jargon", "notes.md").await.unwrap();
    assert!(search(&studio, "quuxinator", 3, Mode::Bm25).await.is_empty());
    assert!(
        search(&studio, "quuxinator protocol retries", 10, Mode::Vector).await.iter().all(|h| h.document != "notes.md")
    );
    assert_eq!(api::knowledge_base(&studio, "jargon").await.unwrap().0.chunks, before);
    let e = api::remove_knowledge_document(&studio, "jargon", "notes.md").await.unwrap_err();
    assert!(e.to_string().contains("no document `notes.md`"), "{e}");
}

#[tokio::test]
async fn hostile_and_broken_files_fail_alone_with_clear_messages() {
    let (_dir, studio) = jargon().await;
    let bad = tempfile::tempdir().unwrap();
    let pdf = std::fs::read(root().join("tests/fixtures/knowledge/lexicon-i-m.pdf")).unwrap();
    let docx = std::fs::read(root().join("tests/fixtures/knowledge/lexicon-n-r.docx")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.pdf", pdf[..pdf.len() / 3].to_vec(), "PDF file is damaged"),
        ("not-a.pdf", b"<html>not a pdf</html>".to_vec(), "does not start with %PDF-"),
        ("binary.txt", b"\x7fELF\x02\x01\x01\0\0\0".to_vec(), "not UTF-8 text"),
        ("deep.html", format!("{}x", "<div>".repeat(100_000)).into_bytes(), "nested more than"),
        ("empty.md", Vec::new(), "the file is empty"),
        ("truncated.docx", docx[..docx.len() / 2].to_vec(), "DOCX file is damaged"),
        ("no-body.docx", zip_of(&[("word/styles.xml", b"<styles/>")]), "no word/document.xml"),
        ("bomb.docx", zip_of(&[("word/document.xml", &vec![b' '; 64 << 20])]), "zip bomb"),
        ("slip.epub", zip_of(&[("../../evil.xhtml", b"x")]), "unsafe path"),
        ("no-container.epub", zip_of(&[("mimetype", b"application/epub+zip")]), "no META-INF/container.xml"),
        (
            "drm.epub",
            zip_of(&[
                ("META-INF/container.xml", br#"<container><rootfiles><rootfile full-path="c.opf"/></rootfiles></container>"#),
                ("META-INF/encryption.xml", br#"<encryption><EncryptedData><EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/></EncryptedData></encryption>"#),
                ("c.opf", b"<package/>"),
            ]),
            "encrypted",
        ),
        ("card.png", png_with_text(&[]), "character card"),
        ("program.exe", b"MZ".to_vec(), "unsupported file type"),
    ];
    let mut paths = Vec::new();
    for (name, bytes, _) in &cases {
        paths.push(write(bad.path(), name, bytes));
    }
    paths.push(write(bad.path(), "good.txt", b"The zyxquendor is fine."));
    let report = api::add_to_knowledge_base(&studio, "jargon", &paths, &|_| {}, &CancelToken::default()).await.unwrap();
    for (name, _, message) in &cases {
        let outcome =
            report.files.iter().find(|f| f.path.ends_with(name)).unwrap_or_else(|| panic!("{name} not reported"));
        assert_eq!(outcome.status, "failed", "{name}");
        let error = outcome.error.as_deref().unwrap();
        assert!(error.contains(message), "{name}: {error}");
    }
    assert_eq!((report.added, report.failed), (1, cases.len()), "{report:#?}");
    assert_eq!(search(&studio, "zyxquendor", 3, Mode::Bm25).await.len(), 1);
    // Nothing of the failed files was stored.
    let (_, docs) = api::knowledge_base(&studio, "jargon").await.unwrap();
    assert_eq!(docs.len(), 7);
}

#[test]
fn a_killed_ingest_finishes_on_the_next_run_without_duplicates_or_losses() {
    let t = template();
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    ok(home, &["models", "import", t.dir.join("models/all-minilm-l6-v2").to_str().unwrap()]);
    ok(home, &["kb", "create", "jargon"]);
    let paths: Vec<String> = corpus().iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["kb", "add", "jargon"];
    args.extend(paths.iter().map(String::as_str));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_familiar"))
        .args(&args)
        .env("FAMILIAR_HOME", home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it (SIGKILL: no cleanup) once some but not all documents are in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let docs = json(home, &["kb", "show", "jargon", "--json"])["documents"].as_array().unwrap().len();
        if docs >= 2 {
            assert!(docs < 6, "the ingest finished before it could be killed");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the ingest made no progress");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let report = json(home, &["kb", "add", "jargon", &paths[0], &paths[1], "--json"]);
    assert!(report["unchanged"].as_u64().unwrap() >= 2, "{report}");
    assert_eq!(report["unchanged"].as_u64().unwrap() + report["added"].as_u64().unwrap(), 6, "{report}");
    let shown = json(home, &["kb", "show", "jargon", "--json"]);
    let expected: u64 = template().report.chunks as u64;
    assert_eq!(shown["base"]["chunks"].as_u64().unwrap(), expected, "no chunk lost or doubled");
    for doc in shown["documents"].as_array().unwrap() {
        let stored = doc["chunks"].as_u64().unwrap();
        let clean = template()
            .report
            .files
            .iter()
            .find(|f| Path::new(&f.path).file_name() == Path::new(doc["path"].as_str().unwrap()).file_name())
            .unwrap()
            .chunks as u64;
        assert_eq!(stored, clean, "{}", doc["path"]);
    }
    // The full-text index agrees with the chunks it indexes.
    let hits = json(home, &["kb", "search", "jargon", "heisenbug", "--mode", "bm25", "--json"]);
    assert!(!hits.as_array().unwrap().is_empty());
}

#[test]
fn the_cli_searches_and_prints_sources_positions_and_scores() {
    let home = jargon_home();
    let hits = json(home.path(), &["kb", "search", "jargon", "magic smoke in chips", "--limit", "3", "--json"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["document"], "lexicon-i-m.pdf");
    assert!(hits[0]["location"].as_str().unwrap().starts_with("page "));
    assert!(hits[0]["scores"]["fused"].as_f64().unwrap() > 0.0);
    let text = ok(home.path(), &["kb", "search", "jargon", "magic smoke in chips", "--limit", "2"]);
    assert!(text.contains("1. lexicon-i-m.pdf — page ") && text.contains("bm25") && text.contains("vector"), "{text}");
    let list = json(home.path(), &["kb", "list", "--json"]);
    assert_eq!(list[0]["name"], "jargon");
    assert_eq!(list[0]["documents"], 6);
    let e = fails(home.path(), &["kb", "search", "nope", "x"]);
    assert!(e.contains("no knowledge base `nope`"), "{e}");
    let e = fails(home.path(), &["kb", "create", "jargon"]);
    assert!(e.contains("already exists"), "{e}");
    let e = fails(home.path(), &["kb", "search", "jargon", "x", "--mode", "fuzzy"]);
    assert!(e.contains("unknown search mode"), "{e}");
}

#[test]
fn follow_up_questions_carry_the_conversations_subject() {
    use familiar::chat::{Role, Turn};
    let turn = |role, content: &str| Turn { role, content: content.into() };
    let history = [
        turn(Role::User, "Tell me about the heisenbug."),
        turn(Role::Assistant, "It is a bug that hides when you look."),
        turn(Role::User, "Where does its name come from?"),
    ];
    let queries = api::turn_queries(&history);
    assert_eq!(queries[0], "Where does its name come from?");
    assert_eq!(queries[1], "Tell me about the heisenbug. Where does its name come from?");
    assert_eq!(api::turn_queries(&history[..1]), ["Tell me about the heisenbug."]);
}

#[tokio::test]
async fn a_sample_agent_answers_from_its_knowledge_base_with_citations() {
    let (_dir, studio) = studio_with_model().await;
    api::install_bundled_embedding_model(&studio).await.unwrap();
    let built = api::install_sample_knowledge(&studio, &|_| {}).await.unwrap();
    assert_eq!((built[0].base.as_str(), built[0].added), ("jargon-file", 1));
    // Running setup again changes nothing.
    let again = api::install_sample_knowledge(&studio, &|_| {}).await.unwrap();
    assert_eq!((again[0].added, again[0].unchanged), (0, 1));

    let conversation = api::start_conversation(&studio, "Ada", None, 0).await.unwrap();
    let question = "Why are hackers confused by negative questions?";
    let options = api::TurnOptions { seed: Some(1), max_tokens: Some(24), ..Default::default() };
    let report = api::send_message(&studio, &conversation.id, question, &options, Box::new(|_| {}), Default::default())
        .await
        .unwrap();
    let first = &report.citations[0];
    assert_eq!((first.n, first.base.as_str(), first.document.as_str()), (1, "jargon-file", "jargon-file-chapters.md"));
    assert_eq!(first.section.as_deref(), Some("The Jargon File (version 4.4.7) › Chapter 7. Hacker Speech Style"));
    assert!(first.scores.bm25.is_some() && first.scores.vector.is_some());
    // Stored with the reply, and given to the model as marked reference data.
    let (_, thread) = api::conversation(&studio, &conversation.id).await.unwrap();
    let stored: Vec<api::Citation> = serde_json::from_value(thread.last().unwrap().citations.clone().unwrap()).unwrap();
    assert_eq!(stored, report.citations);
    assert!(report.prompt_tokens > 400, "the references are in the prompt");

    // A follow-up that only makes sense in context still finds the chapter.
    let follow = api::send_message(
        &studio,
        &conversation.id,
        "And what answer do they give?",
        &options,
        Box::new(|_| {}),
        Default::default(),
    )
    .await
    .unwrap();
    assert!(follow.citations.iter().any(|c| c.location.contains("Chapter 7")), "{:#?}", follow.citations);

    // Detached, the agent answers without sources.
    api::detach_knowledge(&studio, "Ada", "jargon-file").await.unwrap();
    let plain = api::send_message(&studio, &conversation.id, question, &options, Box::new(|_| {}), Default::default())
        .await
        .unwrap();
    assert!(plain.citations.is_empty());
    let e = api::detach_knowledge(&studio, "Ada", "jargon-file").await.unwrap_err();
    assert!(e.to_string().contains("is not attached"), "{e}");
    let e = api::attach_knowledge(&studio, "Ada", "nope").await.unwrap_err();
    assert!(e.to_string().contains("no knowledge base `nope`"), "{e}");
}

#[test]
fn familiar_chat_prints_the_sources_of_a_reply() {
    let home = tempfile::tempdir().unwrap();
    let setup = ok(home.path(), &["setup"]);
    assert!(setup.contains("Built knowledge base jargon-file"), "{setup}");
    let out = ok(
        home.path(),
        &["chat", "ada", "--message", "How do hackers use quotes?", "--max-tokens", "16", "--seed", "3"],
    );
    assert!(out.contains("Sources:\n  [1") && out.contains("] jargon-file-chapters.md, section "), "{out}");
    let reply =
        json(home.path(), &["chat", "ada", "--message", "How do hackers use quotes?", "--max-tokens", "8", "--json"]);
    assert_eq!(reply["report"]["citations"][0]["document"], "jargon-file-chapters.md");
}

#[tokio::test]
async fn ingest_reports_progress_and_can_be_cancelled_and_resumed() {
    let (_dir, studio) = jargon().await;
    api::create_knowledge_base(&studio, "again", Default::default()).await.unwrap();
    let cancel = CancelToken::default();
    let events = std::sync::Mutex::new(Vec::new());
    let progress = |p: familiar::knowledge::IngestProgress| {
        if p.chunks_done >= 150 {
            cancel.cancel();
        }
        events.lock().unwrap().push(p);
    };
    let e = api::add_to_knowledge_base(&studio, "again", &corpus(), &progress, &cancel).await.unwrap_err();
    assert_eq!(e.code(), api::ErrorCode::Cancelled);
    assert!(e.to_string().contains("run the same command again"), "{e}");
    let events = events.into_inner().unwrap();
    assert!(events.iter().all(|p| p.files_total == 8), "two hostile PDFs, five lexicons, one chapter file");
    assert!(events.windows(2).all(|w| w[0].chunks_done <= w[1].chunks_done));
    assert!(events.iter().any(|p| p.eta_seconds.is_some_and(|s| s > 0.0)), "an ETA is given");
    let (kb, docs) = api::knowledge_base(&studio, "again").await.unwrap();
    assert!(!docs.is_empty() && docs.len() < 6, "finished documents are kept: {}", docs.len());
    assert_eq!(kb.chunks, docs.iter().map(|d| d.chunks).sum::<i64>(), "no half document");

    let done = api::add_to_knowledge_base(&studio, "again", &corpus(), &|_| {}, &CancelToken::default()).await.unwrap();
    assert_eq!(done.unchanged, docs.len());
    assert_eq!(api::knowledge_base(&studio, "again").await.unwrap().0.chunks, template().report.chunks as i64);
}

#[tokio::test]
async fn a_character_cards_lorebook_is_ingested_entry_by_entry() {
    let (_dir, studio) = jargon().await;
    let card = root().join("agents/bram/card.json");
    let report =
        api::add_to_knowledge_base(&studio, "jargon", &[card], &|_| {}, &CancelToken::default()).await.unwrap();
    assert_eq!((report.added, report.chunks), (1, 6), "{report:#?}");
    assert_eq!(report.files[0].kind, Some(familiar::knowledge::DocKind::Lorebook));
    let hits = search(&studio, "the troll who guards the bridge", 1, Mode::Hybrid).await;
    assert_eq!(hits[0].document, "card.json");
    assert_eq!(hits[0].location, "section Tollo the bridge troll");
    assert_eq!(hits[0].title.as_deref(), Some("Wrenmoor"), "the lorebook's name is the document's title");
    // A card without a lorebook says so.
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "plain.json", v3_card("Nobody").as_bytes());
    let report =
        api::add_to_knowledge_base(&studio, "jargon", &[plain], &|_| {}, &CancelToken::default()).await.unwrap();
    assert!(report.files[0].error.as_deref().unwrap().contains("the card has no lorebook"), "{report:#?}");
}
