//! Text extraction from documents: plain text, Markdown, HTML, PDF, DOCX,
//! EPUB, and the lorebooks inside character cards. Structure is kept where the
//! format has it — pages for PDF, headings elsewhere — so that a citation can
//! say "page 4" or "section Installation".
//!
//! Nothing here trusts its input: archives go through the bounded zip reader,
//! and the PDF parser (which can panic on hostile files) runs where a panic is
//! caught and reported as a corrupt file.

use std::path::Path;

use quick_xml::events::Event;
use scraper::{Html, Node};

use crate::agent::{self, ImportOptions};
use crate::archive::{self, Limits};

/// The largest document read (the user is told, not silently truncated).
pub const MAX_DOCUMENT_BYTES: usize = 256 << 20;

/// The formats a knowledge base reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub enum DocKind {
    Text,
    Markdown,
    Html,
    Pdf,
    Docx,
    Epub,
    /// A character card's lorebook (PNG, CHARX or JSON card).
    Lorebook,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Text => "text",
            DocKind::Markdown => "markdown",
            DocKind::Html => "html",
            DocKind::Pdf => "pdf",
            DocKind::Docx => "docx",
            DocKind::Epub => "epub",
            DocKind::Lorebook => "lorebook",
        }
    }

    /// The kind a file name says it is, when a knowledge base can read it.
    pub fn from_name(name: &str) -> Option<DocKind> {
        let ext = Path::new(name).extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "txt" | "text" | "log" | "csv" | "rst" => DocKind::Text,
            "md" | "markdown" | "mdx" => DocKind::Markdown,
            "html" | "htm" | "xhtml" => DocKind::Html,
            "pdf" => DocKind::Pdf,
            "docx" => DocKind::Docx,
            "epub" => DocKind::Epub,
            "png" | "charx" | "json" => DocKind::Lorebook,
            _ => return None,
        })
    }
}

/// A stretch of a document with one location: a page, or a section under a heading.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Section {
    /// 1-based page number (PDF).
    pub page: Option<u32>,
    /// The heading path, e.g. `Guide › Installation`.
    pub heading: Option<String>,
    pub text: String,
    /// The text is Markdown (split along its structure).
    pub markdown: bool,
}

/// A document's text.
#[derive(Debug, Clone, PartialEq)]
pub struct Extracted {
    pub kind: DocKind,
    pub title: Option<String>,
    pub sections: Vec<Section>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("unsupported file type (knowledge bases read .txt, .md, .html, .pdf, .docx, .epub and character cards)")]
    Unsupported,
    #[error("the file is larger than {} MiB", MAX_DOCUMENT_BYTES >> 20)]
    TooLarge,
    #[error("the file is empty")]
    Empty,
    #[error("the file is not UTF-8 text (is it a binary file?)")]
    NotText,
    #[error("the PDF is encrypted (password-protected); save an unprotected copy and add that")]
    Encrypted,
    #[error("the {0} file is damaged or not a real {0} file: {1}")]
    Corrupt(&'static str, String),
    #[error("no text could be found in it{0}")]
    NoText(&'static str),
    /// A parser panicked on the file's content.
    #[error("the file could not be parsed (the reader stopped on malformed content)")]
    Crashed,
    #[error("cannot start a reader thread: {0}")]
    Thread(std::io::Error),
}

/// Extracts the text of a document whose file is called `name`.
pub fn extract(name: &str, bytes: &[u8]) -> Result<Extracted, ExtractError> {
    let kind = DocKind::from_name(name).ok_or(ExtractError::Unsupported)?;
    if bytes.is_empty() {
        return Err(ExtractError::Empty);
    }
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ExtractError::TooLarge);
    }
    let (title, sections) = match kind {
        DocKind::Text => (None, vec![Section { text: utf8(bytes)?.to_owned(), ..Section::default() }]),
        DocKind::Markdown => markdown(utf8(bytes)?),
        DocKind::Html => html(&String::from_utf8_lossy(bytes))?,
        DocKind::Pdf => (None, pdf(bytes)?),
        DocKind::Docx => docx(bytes)?,
        DocKind::Epub => epub(bytes)?,
        DocKind::Lorebook => lorebook(name, bytes)?,
    };
    let sections: Vec<Section> = sections
        .into_iter()
        .map(|mut s| {
            s.text = s.text.trim().to_owned();
            s
        })
        .filter(|s| !s.text.is_empty())
        .collect();
    if sections.is_empty() {
        let hint = if kind == DocKind::Pdf { " (a scanned PDF needs text recognition first)" } else { "" };
        return Err(ExtractError::NoText(hint));
    }
    Ok(Extracted { kind, title: title.filter(|t| !t.trim().is_empty()), sections })
}

fn utf8(bytes: &[u8]) -> Result<&str, ExtractError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|_| ExtractError::NotText)?;
    if text.contains('\0') {
        return Err(ExtractError::NotText);
    }
    Ok(text)
}

/// Joins a heading path for display.
fn heading_path(path: &[String]) -> Option<String> {
    let parts: Vec<&str> = path.iter().map(String::as_str).filter(|p| !p.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join(" › "))
}

/// Keeps the heading path at `level` (1-based) and below it.
fn enter_heading(path: &mut Vec<String>, level: usize, text: String) {
    path.truncate(level.saturating_sub(1));
    while path.len() < level.saturating_sub(1) {
        path.push(String::new());
    }
    path.push(text);
}

fn markdown(text: &str) -> (Option<String>, Vec<Section>) {
    use pulldown_cmark::{Event as Md, Parser, Tag, TagEnd};
    let mut sections = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut title = None;
    let mut start = 0;
    // Heading being read: its level, where it starts, its text so far.
    let mut heading: Option<(usize, usize, String)> = None;
    for (event, range) in Parser::new(text).into_offset_iter() {
        match event {
            Md::Start(Tag::Heading { level, .. }) => {
                sections.push(Section {
                    heading: heading_path(&path),
                    text: text[start..range.start].to_owned(),
                    markdown: true,
                    ..Section::default()
                });
                heading = Some((level as usize, range.start, String::new()));
            }
            Md::Text(t) | Md::Code(t) if heading.is_some() => {
                if let Some((_, _, h)) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Md::End(TagEnd::Heading(_)) => {
                if let Some((level, from, h)) = heading.take() {
                    let h = h.trim().to_owned();
                    if level == 1 && title.is_none() {
                        title = Some(h.clone());
                    }
                    enter_heading(&mut path, level, h);
                    start = from;
                }
            }
            _ => {}
        }
    }
    sections.push(Section {
        heading: heading_path(&path),
        text: text[start..].to_owned(),
        markdown: true,
        ..Section::default()
    });
    (title, sections)
}

/// Reads HTML into sections split at its headings.
struct HtmlReader {
    path: Vec<String>,
    sections: Vec<Section>,
    current: String,
    title: Option<String>,
}

const SKIPPED: &[&str] = &["script", "style", "noscript", "template", "head", "svg", "iframe", "object"];
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "dd",
    "dt",
    "dl",
    "figure",
    "figcaption",
    "br",
    "hr",
    "pre",
    "nav",
    "form",
    "address",
    "body",
];

impl HtmlReader {
    fn new(path: Vec<String>) -> HtmlReader {
        HtmlReader { path, sections: Vec::new(), current: String::new(), title: None }
    }

    fn flush(&mut self) {
        let text = std::mem::take(&mut self.current);
        self.sections.push(Section { heading: heading_path(&self.path), text, ..Section::default() });
    }

    fn newline(&mut self) {
        let trimmed = self.current.trim_end_matches([' ', '\t']).len();
        self.current.truncate(trimmed);
        if !self.current.is_empty() && !self.current.ends_with("\n\n") {
            self.current.push('\n');
        }
    }

    fn text(&mut self, t: &str, pre: bool) {
        if pre {
            self.current.push_str(t);
            return;
        }
        let collapsed = t.split_whitespace().collect::<Vec<_>>().join(" ");
        if t.starts_with(char::is_whitespace) && !self.current.ends_with([' ', '\n']) {
            self.current.push(' ');
        }
        self.current.push_str(&collapsed);
        if t.ends_with(char::is_whitespace) && !collapsed.is_empty() {
            self.current.push(' ');
        }
    }

    fn heading(&mut self, level: usize, node: ego_tree::NodeRef<'_, Node>) {
        let text = scraper::ElementRef::wrap(node)
            .map(|e| e.text().collect::<String>().split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default();
        self.flush();
        if level == 1 && self.title.is_none() {
            self.title = Some(text.clone());
        }
        enter_heading(&mut self.path, level, text.clone());
        self.current.push_str(&text);
        self.current.push_str("\n\n");
    }

    /// Walks the tree iteratively (a hostile page may nest elements
    /// thousands deep; recursion would overflow the stack).
    fn walk(&mut self, root: ego_tree::NodeRef<'_, Node>) {
        use ego_tree::iter::Edge;
        // Inside a skipped element (or a heading, read whole): the node that closes it.
        let mut skipping: Option<ego_tree::NodeId> = None;
        let mut pre_depth = 0usize;
        for edge in root.traverse() {
            match edge {
                Edge::Open(node) => {
                    if skipping.is_some() {
                        continue;
                    }
                    match node.value() {
                        Node::Text(t) => self.text(t, pre_depth > 0),
                        Node::Element(e) => {
                            let name = e.name();
                            if SKIPPED.contains(&name) {
                                skipping = Some(node.id());
                            } else if let Some(level) = heading_level(name) {
                                self.heading(level, node);
                                skipping = Some(node.id());
                            } else if BLOCKS.contains(&name) {
                                self.newline();
                            }
                            if name == "pre" {
                                pre_depth += 1;
                            }
                        }
                        _ => {}
                    }
                }
                Edge::Close(node) => {
                    if skipping == Some(node.id()) {
                        skipping = None;
                        continue;
                    }
                    if skipping.is_some() {
                        continue;
                    }
                    if let Node::Element(e) = node.value() {
                        let name = e.name();
                        if name == "pre" {
                            pre_depth = pre_depth.saturating_sub(1);
                        }
                        if BLOCKS.contains(&name) {
                            self.newline();
                            if name == "p" || name == "pre" {
                                self.current.push('\n');
                            }
                        }
                    }
                }
            }
        }
    }
}

fn heading_level(name: &str) -> Option<usize> {
    name.strip_prefix('h').and_then(|l| l.parse::<usize>().ok()).filter(|l| (1..=6).contains(l))
}

/// Elements nested deeper than this are refused: no real page needs it, and
/// HTML parsers slow down (and recurse) on hostile nesting.
const MAX_HTML_DEPTH: usize = 2048;

/// The deepest element nesting, counted from the tags (void elements and
/// self-closing tags do not nest).
fn html_depth(source: &str) -> usize {
    const VOID: &[&str] = &[
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
    ];
    let (mut depth, mut deepest) = (0usize, 0usize);
    let bytes = source.as_bytes();
    let mut i = 0;
    while let Some(at) = memchr::memchr(b'<', &bytes[i..]) {
        let start = i + at + 1;
        let end = memchr::memchr(b'>', &bytes[start..]).map_or(bytes.len(), |e| start + e);
        let tag = &source[start..end];
        if let Some(name) = tag.strip_prefix('/') {
            if !name.is_empty() {
                depth = depth.saturating_sub(1);
            }
        } else if tag.starts_with(|c: char| c.is_ascii_alphabetic()) && !tag.ends_with('/') {
            let name: String =
                tag.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase();
            if !VOID.contains(&name.as_str()) {
                depth += 1;
                deepest = deepest.max(depth);
            }
        }
        i = end.min(bytes.len());
        if i >= bytes.len() {
            break;
        }
    }
    deepest
}

type HtmlRead = (Option<String>, Vec<Section>, Vec<String>);

fn html_with(source: &str, path: Vec<String>) -> Result<HtmlRead, ExtractError> {
    if html_depth(source) > MAX_HTML_DEPTH {
        return Err(ExtractError::Corrupt(
            "HTML",
            format!("elements are nested more than {MAX_HTML_DEPTH} deep (a malformed or hostile page)"),
        ));
    }
    let document = Html::parse_document(source);
    let head_title = document
        .select(&scraper::Selector::parse("title").expect("a valid selector"))
        .next()
        .map(|t| t.text().collect::<String>().trim().to_owned());
    let mut reader = HtmlReader::new(path);
    reader.walk(document.tree.root());
    reader.flush();
    Ok((head_title.filter(|t| !t.is_empty()).or(reader.title), reader.sections, reader.path))
}

fn html(source: &str) -> Result<(Option<String>, Vec<Section>), ExtractError> {
    let (title, sections, _) = html_with(source, Vec::new())?;
    Ok((title, sections))
}

fn pdf(bytes: &[u8]) -> Result<Vec<Section>, ExtractError> {
    if !bytes.starts_with(b"%PDF-") {
        return Err(ExtractError::Corrupt("PDF", "it does not start with %PDF-".into()));
    }
    let encrypted = bytes.windows(8).any(|w| w == b"/Encrypt");
    // The parser can panic on hostile files; a panic here is a damaged file.
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes));
    let pages = match pages {
        Ok(Ok(pages)) => pages,
        Ok(Err(_)) | Err(_) if encrypted => return Err(ExtractError::Encrypted),
        Ok(Err(e)) => return Err(ExtractError::Corrupt("PDF", e.to_string())),
        Err(_) => return Err(ExtractError::Corrupt("PDF", "its structure could not be parsed".into())),
    };
    if encrypted && pages.iter().all(|p| p.trim().is_empty()) {
        return Err(ExtractError::Encrypted);
    }
    Ok(pages
        .into_iter()
        .enumerate()
        .map(|(i, text)| Section { page: Some(i as u32 + 1), text: tidy_pdf_text(&text), ..Section::default() })
        .collect())
}

/// PDF text comes with hard line breaks inside paragraphs; keep paragraph breaks only.
fn tidy_pdf_text(text: &str) -> String {
    text.split("\n\n")
        .map(|para| para.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn zip_files(kind: &'static str, bytes: &[u8]) -> Result<std::collections::BTreeMap<String, Vec<u8>>, ExtractError> {
    archive::read_zip(bytes, Limits::default()).map_err(|e| ExtractError::Corrupt(kind, e.to_string()))
}

fn local_name(name: &[u8]) -> &[u8] {
    name.rsplit(|&b| b == b':').next().unwrap_or(name)
}

fn attribute(e: &quick_xml::events::BytesStart<'_>, wanted: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| local_name(a.key.as_ref()) == wanted)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn docx(bytes: &[u8]) -> Result<(Option<String>, Vec<Section>), ExtractError> {
    let files = zip_files("DOCX", bytes)?;
    let xml = files
        .get("word/document.xml")
        .ok_or_else(|| ExtractError::Corrupt("DOCX", "it has no word/document.xml".into()))?;
    let xml =
        std::str::from_utf8(xml).map_err(|_| ExtractError::Corrupt("DOCX", "document.xml is not UTF-8".into()))?;
    let corrupt = |e: quick_xml::Error| ExtractError::Corrupt("DOCX", e.to_string());
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut path, mut sections, mut current) = (Vec::new(), Vec::new(), String::new());
    let (mut para, mut style, mut in_text, mut title) = (String::new(), None::<String>, false, None);
    loop {
        match reader.read_event().map_err(corrupt)? {
            Event::Start(e) | Event::Empty(e) => match local_name(e.name().as_ref()) {
                b"pStyle" => style = attribute(&e, b"val"),
                b"t" => in_text = true,
                b"tab" => para.push('\t'),
                b"br" | b"cr" => para.push('\n'),
                _ => {}
            },
            Event::Text(t) if in_text => {
                para.push_str(&t.unescape().map_err(|e| ExtractError::Corrupt("DOCX", e.to_string()))?);
            }
            Event::End(e) => match local_name(e.name().as_ref()) {
                b"t" => in_text = false,
                b"p" => {
                    let text = std::mem::take(&mut para);
                    let level = style.take().and_then(|s| {
                        let s = s.to_ascii_lowercase();
                        if s == "title" { Some(1) } else { s.strip_prefix("heading")?.parse::<usize>().ok() }
                    });
                    match level {
                        Some(level) if !text.trim().is_empty() => {
                            sections.push(Section {
                                heading: heading_path(&path),
                                text: std::mem::take(&mut current),
                                ..Section::default()
                            });
                            if title.is_none() {
                                title = Some(text.trim().to_owned());
                            }
                            enter_heading(&mut path, level, text.trim().to_owned());
                            current.push_str(text.trim());
                            current.push_str("\n\n");
                        }
                        _ => {
                            current.push_str(&text);
                            current.push_str("\n\n");
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    sections.push(Section { heading: heading_path(&path), text: current, ..Section::default() });
    Ok((title, sections))
}

/// Resolves `href` (relative to the folder of `base`) inside an archive.
fn archive_path(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or(href);
    let mut parts: Vec<&str> = base.rsplit_once('/').map(|(dir, _)| dir.split('/').collect()).unwrap_or_default();
    for part in href.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn epub(bytes: &[u8]) -> Result<(Option<String>, Vec<Section>), ExtractError> {
    let files = zip_files("EPUB", bytes)?;
    let corrupt = |what: &str| ExtractError::Corrupt("EPUB", what.to_owned());
    let container = files.get("META-INF/container.xml").ok_or_else(|| corrupt("it has no META-INF/container.xml"))?;
    let container = std::str::from_utf8(container).map_err(|_| corrupt("container.xml is not UTF-8"))?;
    let mut opf_path = None;
    let mut reader = quick_xml::Reader::from_str(container);
    loop {
        match reader.read_event().map_err(|e| corrupt(&e.to_string()))? {
            Event::Start(e) | Event::Empty(e) if local_name(e.name().as_ref()) == b"rootfile" => {
                opf_path = attribute(&e, b"full-path");
                break;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let opf_path = opf_path.ok_or_else(|| corrupt("container.xml names no package file"))?;
    if let Some(encryption) = files.get("META-INF/encryption.xml")
        && drm_protected(encryption)
    {
        return Err(ExtractError::Encrypted);
    }
    let opf = files.get(&opf_path).ok_or_else(|| corrupt(&format!("the package file {opf_path} is missing")))?;
    let opf = std::str::from_utf8(opf).map_err(|_| corrupt("the package file is not UTF-8"))?;
    let (mut manifest, mut spine, mut title, mut in_title) = (Vec::new(), Vec::new(), None, false);
    let mut reader = quick_xml::Reader::from_str(opf);
    loop {
        match reader.read_event().map_err(|e| corrupt(&e.to_string()))? {
            Event::Start(e) | Event::Empty(e) => match local_name(e.name().as_ref()) {
                b"item" => {
                    if let (Some(id), Some(href)) = (attribute(&e, b"id"), attribute(&e, b"href")) {
                        manifest.push((id, href, attribute(&e, b"media-type").unwrap_or_default()));
                    }
                }
                b"itemref" => spine.extend(attribute(&e, b"idref")),
                b"title" if title.is_none() => in_title = true,
                _ => {}
            },
            Event::Text(t) if in_title => {
                title = t.unescape().ok().map(|t| t.trim().to_owned());
                in_title = false;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut sections = Vec::new();
    let mut path = Vec::new();
    for idref in &spine {
        let Some((_, href, media)) = manifest.iter().find(|(id, _, _)| id == idref) else { continue };
        if !media.contains("html") {
            // Only XHTML chapters carry the text; images and styles do not.
            continue;
        }
        let file = archive_path(&opf_path, &percent_decode(href));
        let chapter = files.get(&file).ok_or_else(|| corrupt(&format!("the chapter {file} is missing")))?;
        let (_, chapter_sections, after) = html_with(&String::from_utf8_lossy(chapter), path)?;
        path = after;
        sections.extend(chapter_sections);
    }
    if spine.is_empty() {
        return Err(corrupt("its reading order (spine) is empty"));
    }
    Ok((title, sections))
}

/// Whether `META-INF/encryption.xml` encrypts content, not just obfuscates fonts.
fn drm_protected(encryption: &[u8]) -> bool {
    const FONT_OBFUSCATION: &[&str] = &["http://www.idpf.org/2008/embedding", "http://ns.adobe.com/pdf/enc#RC"];
    let mut reader = quick_xml::Reader::from_reader(encryption);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e))
                if local_name(e.name().as_ref()) == b"EncryptionMethod"
                    && attribute(&e, b"Algorithm").is_some_and(|a| !FONT_OBFUSCATION.contains(&a.as_str())) =>
            {
                return true;
            }
            Ok(Event::Eof) | Err(_) => return false,
            _ => {}
        }
        buf.clear();
    }
}

fn lorebook(name: &str, bytes: &[u8]) -> Result<(Option<String>, Vec<Section>), ExtractError> {
    let imported = agent::import_bytes(bytes, &ImportOptions { name: None, file_name: Some(name.to_owned()) })
        .map_err(|e| ExtractError::Corrupt("character card", e.to_string()))?;
    let spec = imported.agent.spec();
    let book = spec.character_book.as_ref().ok_or(ExtractError::NoText(" (the card has no lorebook)"))?;
    let sections = book
        .entries
        .iter()
        .filter(|e| e.enabled)
        .map(|e| {
            let label = e.name.clone().or_else(|| e.comment.clone()).filter(|l| !l.trim().is_empty());
            Section {
                heading: label.or_else(|| Some(e.keys.join(", "))),
                text: e.content.clone(),
                ..Section::default()
            }
        })
        .collect();
    let title = book.name.clone().or_else(|| Some(format!("{} lorebook", spec.name)));
    Ok((title, sections))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_sections_follow_the_headings() {
        let doc = extract(
            "guide.md",
            b"Intro text.\n\n# Guide\n\nHello.\n\n## Installation\n\nRun it.\n\n```sh\nmake\n```\n",
        )
        .unwrap();
        assert_eq!(doc.title.as_deref(), Some("Guide"));
        let headings: Vec<_> = doc.sections.iter().map(|s| s.heading.clone()).collect();
        assert_eq!(headings, [None, Some("Guide".into()), Some("Guide › Installation".into())]);
        assert!(doc.sections[2].text.starts_with("## Installation"));
        assert!(doc.sections[2].text.contains("make"));
    }

    #[test]
    fn html_skips_scripts_and_splits_at_headings() {
        let page = "<html><head><title>T</title><script>var x = 1;</script></head><body>\
                    <h1>Top</h1><p>One <b>two</b>\n three.</p><h2>Sub</h2><ul><li>a</li><li>b</li></ul></body></html>";
        let doc = extract("p.html", page.as_bytes()).unwrap();
        assert_eq!(doc.title.as_deref(), Some("T"));
        assert!(doc.sections.iter().all(|s| !s.text.contains("var x")));
        assert_eq!(doc.sections[0].heading.as_deref(), Some("Top"));
        assert!(doc.sections[0].text.contains("One two three."), "{:?}", doc.sections[0].text);
        assert_eq!(doc.sections[1].heading.as_deref(), Some("Top › Sub"));
    }

    #[test]
    fn hostile_nesting_is_refused_before_parsing() {
        let deep = format!("{}x{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert!(matches!(extract("deep.html", deep.as_bytes()), Err(ExtractError::Corrupt("HTML", _))));
        let wide = format!("<p>{}</p>", "<br><img src=x>a<b>b</b>".repeat(5000));
        assert!(extract("wide.html", wide.as_bytes()).is_ok());
    }

    #[test]
    fn archive_paths_resolve_relative_to_the_package_file() {
        assert_eq!(archive_path("OEBPS/content.opf", "text/ch1.xhtml#x"), "OEBPS/text/ch1.xhtml");
        assert_eq!(archive_path("content.opf", "ch1.xhtml"), "ch1.xhtml");
        assert_eq!(archive_path("a/b/c.opf", "../d.xhtml"), "a/d.xhtml");
        assert_eq!(percent_decode("chapter%201.xhtml"), "chapter 1.xhtml");
    }

    #[test]
    fn binary_and_unknown_files_are_refused() {
        assert!(matches!(extract("a.txt", b"ab\0cd"), Err(ExtractError::NotText)));
        assert!(matches!(extract("a.txt", b"\xff\xfe"), Err(ExtractError::NotText)));
        assert!(matches!(extract("a.exe", b"MZ"), Err(ExtractError::Unsupported)));
        assert!(matches!(extract("a.md", b""), Err(ExtractError::Empty)));
        assert!(matches!(extract("a.md", b"   \n"), Err(ExtractError::NoText(_))));
    }
}
