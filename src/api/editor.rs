//! The agent as the studio's library and editor see it: cards for the
//! library (with the avatar inline), and a form of every editable field
//! (persona, greetings, example dialogue, lorebook, model and sampling) that
//! comes back edited. Saving a form keeps everything it does not show
//! (unknown card fields, extensions, lorebook entries' extra keys, assets).

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{Result, Studio};
use crate::agent::{self, AgentSpec, LoreEntry, Lorebook};
use crate::store::AgentSummary;

/// An agent as the library shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentCard {
    /// The agent's id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The current version.
    pub version: i64,
    /// Where it came from (`import`, `sample:lena`, `package`, `token:…`).
    pub origin: Option<String>,
    /// The start of its description.
    pub summary: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The avatar as a `data:` URL, when it has one.
    pub avatar: Option<String>,
    /// The model it asks for.
    pub model: Option<String>,
    /// The knowledge bases it answers from.
    pub knowledge: Vec<String>,
    /// Whether it carries a voice profile.
    pub voice_profile: bool,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    /// When it went to the trash.
    pub deleted_at: Option<i64>,
}

/// A lorebook entry as the editor shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LoreEntryForm {
    /// The entry's position when the form was made (`None` for a new entry):
    /// what the form does not show is kept from that entry.
    pub index: Option<u32>,
    /// A label for the creator.
    pub name: Option<String>,
    /// Words (or `/regex/flags` with `use_regex`) that bring the entry in.
    pub keys: Vec<String>,
    /// With `selective`, one of these must appear too.
    pub secondary_keys: Vec<String>,
    /// What goes into the prompt.
    pub content: String,
    /// Whether the entry is used.
    pub enabled: bool,
    /// Always in the prompt, whatever the keys.
    pub constant: bool,
    /// Needs a secondary key too.
    pub selective: bool,
    /// Keys match case.
    pub case_sensitive: bool,
    /// Keys are regular expressions.
    pub use_regex: bool,
    /// Lower comes first.
    pub insertion_order: i64,
    /// A note for the creator.
    pub comment: Option<String>,
}

/// The lorebook as the editor shows it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LorebookForm {
    /// Its name.
    pub name: Option<String>,
    /// How many recent messages are scanned for keys.
    pub scan_depth: Option<u32>,
    /// The most tokens its entries may take.
    pub token_budget: Option<u32>,
    /// The entries.
    pub entries: Vec<LoreEntryForm>,
}

/// Sampling as the editor shows it; empty fields use the engine's defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SamplingForm {
    /// 0 always takes the most likely token.
    pub temperature: Option<f64>,
    /// Keep the k most likely tokens.
    pub top_k: Option<u32>,
    /// Keep the most likely tokens up to this probability mass.
    pub top_p: Option<f64>,
    /// Drop tokens less likely than this share of the most likely one.
    pub min_p: Option<f64>,
    /// Penalises repeated tokens.
    pub repetition_penalty: Option<f64>,
    /// Penalises tokens that appeared at all.
    pub presence_penalty: Option<f64>,
    /// Penalises tokens by how often they appeared.
    pub frequency_penalty: Option<f64>,
    /// The same seed gives the same reply.
    #[cfg_attr(feature = "specta", specta(type = Option<f64>))]
    pub seed: Option<u64>,
    /// The longest reply, in tokens.
    pub max_tokens: Option<u32>,
    /// Text that ends a reply.
    pub stop: Vec<String>,
}

/// Every editable part of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentForm {
    /// The name (`{{char}}`).
    pub name: String,
    /// A shorter name used in chat.
    pub nickname: Option<String>,
    /// Who the agent is.
    pub description: String,
    /// How it behaves.
    pub personality: String,
    /// The situation.
    pub scenario: String,
    /// The first message.
    pub first_mes: String,
    /// Other first messages.
    pub alternate_greetings: Vec<String>,
    /// Example dialogue (`<START>` blocks).
    pub mes_example: String,
    /// Overrides the system prompt.
    pub system_prompt: String,
    /// Instructions after the history.
    pub post_history_instructions: String,
    /// Notes for users, not the model.
    pub creator_notes: String,
    /// Who made it.
    pub creator: String,
    /// Its version, as the creator numbers it.
    pub character_version: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The lorebook.
    pub lorebook: LorebookForm,
    /// The model it asks for (an installed model id).
    pub model: Option<String>,
    /// A shorter context than the model's.
    pub context_length: Option<u32>,
    /// Its own Jinja chat template.
    pub chat_template: Option<String>,
    /// Sampling.
    pub sampling: SamplingForm,
}

fn entry_form(index: usize, e: &LoreEntry) -> LoreEntryForm {
    LoreEntryForm {
        index: Some(index as u32),
        name: e.name.clone(),
        keys: e.keys.clone(),
        secondary_keys: e.secondary_keys.clone().unwrap_or_default(),
        content: e.content.clone(),
        enabled: e.enabled,
        constant: e.constant.unwrap_or(false),
        selective: e.selective.unwrap_or(false),
        case_sensitive: e.case_sensitive.unwrap_or(false),
        use_regex: e.use_regex,
        insertion_order: e.insertion_order,
        comment: e.comment.clone(),
    }
}

/// The form of an agent's spec.
pub fn agent_form(spec: &AgentSpec) -> AgentForm {
    let book = spec.character_book.as_ref();
    let model = spec.familiar.model.as_ref();
    let s = spec.familiar.sampling.clone().unwrap_or_default();
    AgentForm {
        name: spec.name.clone(),
        nickname: spec.nickname.clone(),
        description: spec.description.clone(),
        personality: spec.personality.clone(),
        scenario: spec.scenario.clone(),
        first_mes: spec.first_mes.clone(),
        alternate_greetings: spec.alternate_greetings.clone(),
        mes_example: spec.mes_example.clone(),
        system_prompt: spec.system_prompt.clone(),
        post_history_instructions: spec.post_history_instructions.clone(),
        creator_notes: spec.creator_notes.clone(),
        creator: spec.creator.clone(),
        character_version: spec.character_version.clone(),
        tags: spec.tags.clone(),
        lorebook: LorebookForm {
            name: book.and_then(|b| b.name.clone()),
            scan_depth: book.and_then(|b| b.scan_depth),
            token_budget: book.and_then(|b| b.token_budget),
            entries: book
                .map(|b| b.entries.iter().enumerate().map(|(i, e)| entry_form(i, e)).collect())
                .unwrap_or_default(),
        },
        model: model.and_then(|m| m.id.clone()),
        context_length: model.and_then(|m| m.context_length),
        chat_template: model.and_then(|m| m.chat_template.clone()),
        sampling: SamplingForm {
            temperature: s.temperature,
            top_k: s.top_k,
            top_p: s.top_p,
            min_p: s.min_p,
            repetition_penalty: s.repetition_penalty,
            presence_penalty: s.presence_penalty,
            frequency_penalty: s.frequency_penalty,
            seed: s.seed,
            max_tokens: s.max_tokens,
            stop: s.stop,
        },
    }
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty())
}

/// The spec with the form's values; what the form does not show is kept.
pub fn apply_form(spec: &AgentSpec, form: AgentForm) -> Result<AgentSpec> {
    if form.name.trim().is_empty() {
        return Err(super::Error::Invalid("name: must not be empty".into()));
    }
    let mut out = spec.clone();
    out.name = form.name;
    out.nickname = non_empty(form.nickname);
    out.description = form.description;
    out.personality = form.personality;
    out.scenario = form.scenario;
    out.first_mes = form.first_mes;
    out.alternate_greetings = form.alternate_greetings.into_iter().filter(|g| !g.trim().is_empty()).collect();
    out.mes_example = form.mes_example;
    out.system_prompt = form.system_prompt;
    out.post_history_instructions = form.post_history_instructions;
    out.creator_notes = form.creator_notes;
    out.creator = form.creator;
    out.character_version = form.character_version;
    out.tags = form.tags.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();

    let old = spec.character_book.clone().unwrap_or_default();
    let entries: Vec<LoreEntry> = form
        .lorebook
        .entries
        .into_iter()
        .map(|f| {
            let mut e = f.index.and_then(|i| old.entries.get(i as usize).cloned()).unwrap_or_default();
            // An optional flag stays unset while the form leaves it at what unset means.
            let flag = |old: Option<bool>, new: bool| if old.unwrap_or(false) == new { old } else { Some(new) };
            e.name = non_empty(f.name);
            e.keys = f.keys.into_iter().filter(|k| !k.is_empty()).collect();
            let secondary: Vec<String> = f.secondary_keys.into_iter().filter(|k| !k.is_empty()).collect();
            e.secondary_keys = if secondary.is_empty() && e.secondary_keys.is_none() { None } else { Some(secondary) };
            e.content = f.content;
            e.enabled = f.enabled;
            e.constant = flag(e.constant, f.constant);
            e.selective = flag(e.selective, f.selective);
            e.case_sensitive = flag(e.case_sensitive, f.case_sensitive);
            e.use_regex = f.use_regex;
            e.insertion_order = f.insertion_order;
            e.comment = non_empty(f.comment);
            e
        })
        .collect();
    let has_book = spec.character_book.is_some() || !entries.is_empty();
    out.character_book = has_book.then(|| Lorebook {
        name: non_empty(form.lorebook.name),
        scan_depth: form.lorebook.scan_depth,
        token_budget: form.lorebook.token_budget,
        entries,
        ..old
    });

    let model = out.familiar.model.get_or_insert_with(Default::default);
    model.id = non_empty(form.model);
    model.context_length = form.context_length;
    model.chat_template = non_empty(form.chat_template);
    let s = form.sampling;
    let sampling = out.familiar.sampling.get_or_insert_with(Default::default);
    sampling.temperature = s.temperature;
    sampling.top_k = s.top_k;
    sampling.top_p = s.top_p;
    sampling.min_p = s.min_p;
    sampling.repetition_penalty = s.repetition_penalty;
    sampling.presence_penalty = s.presence_penalty;
    sampling.frequency_penalty = s.frequency_penalty;
    sampling.seed = s.seed;
    sampling.max_tokens = s.max_tokens;
    sampling.stop = s.stop.into_iter().filter(|x| !x.is_empty()).collect();
    Ok(out)
}

fn card(summary: &AgentSummary, agent: &agent::Agent) -> AgentCard {
    let spec = agent.spec();
    let avatar = agent.avatar().map(|(bytes, ext)| {
        let mime = match ext {
            "jpg" | "jpeg" => "image/jpeg",
            "webp" => "image/webp",
            "gif" => "image/gif",
            _ => "image/png",
        };
        format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    });
    // As a reader sees it: `{{char}}` is the agent, `{{user}}` the reader.
    let description = crate::chat::prompt::substitute(&spec.description, crate::chat::prompt::char_name(spec), "you");
    let mut summary_text: String = description.chars().take(240).collect();
    if description.chars().count() > 240 {
        summary_text.push('…');
    }
    AgentCard {
        id: summary.id.clone(),
        name: summary.name.clone(),
        version: summary.version,
        origin: summary.origin.clone(),
        summary: summary_text,
        tags: spec.tags.clone(),
        avatar,
        model: spec.familiar.model.as_ref().and_then(|m| m.id.clone()),
        knowledge: spec.familiar.knowledge.iter().map(|k| k.name.clone()).collect(),
        voice_profile: spec.familiar.voice.as_ref().is_some_and(|v| v.profile.is_some()),
        created_at: summary.created_at,
        updated_at: summary.updated_at,
        deleted_at: summary.deleted_at,
    }
}

/// The library: every agent (or those in the trash) as a card.
pub async fn agent_cards(studio: &Studio, trash: bool) -> Result<Vec<AgentCard>> {
    let summaries = studio.store.list_agents(trash).await?;
    let mut out = Vec::with_capacity(summaries.len());
    for summary in summaries.iter().filter(|s| s.deleted_at.is_some() == trash) {
        let agent = studio.store.agent(&summary.id).await?;
        out.push(card(summary, &agent));
    }
    Ok(out)
}

/// One agent as the editor opens it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct AgentDetail {
    /// Its card.
    pub card: AgentCard,
    /// Its editable fields.
    pub form: AgentForm,
}

/// An agent's card and form.
pub async fn agent_detail(studio: &Studio, query: &str) -> Result<AgentDetail> {
    let (summary, agent) = super::agent(studio, query).await?;
    Ok(AgentDetail { card: card(&summary, &agent), form: agent_form(agent.spec()) })
}

/// Saves an edited form as a new version; returns it.
pub async fn save_agent_form(studio: &Studio, query: &str, form: AgentForm) -> Result<i64> {
    let (_, agent) = super::agent(studio, query).await?;
    let spec = apply_form(agent.spec(), form)?;
    super::update_agent(studio, query, spec, "edit").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_round_trip_changes_nothing_and_edits_keep_what_the_form_does_not_show() {
        let card = include_bytes!("../../tests/fixtures/cards/v3-full.json");
        let imported = crate::agent::import_bytes(card, &Default::default()).unwrap();
        let spec = imported.agent.spec();
        let form = agent_form(spec);
        assert_eq!(apply_form(spec, form.clone()).unwrap().character_book, spec.character_book);
        assert_eq!(apply_form(spec, form.clone()).unwrap().extensions, spec.extensions);

        let mut edited = form.clone();
        edited.description = "Rewritten.".into();
        edited.lorebook.entries[0].content = "New lore.".into();
        edited.lorebook.entries.push(LoreEntryForm {
            index: None,
            name: Some("added".into()),
            keys: vec!["dragon".into()],
            secondary_keys: vec![],
            content: "Dragons are real.".into(),
            enabled: true,
            constant: false,
            selective: false,
            case_sensitive: false,
            use_regex: false,
            insertion_order: 9,
            comment: None,
        });
        let out = apply_form(spec, edited).unwrap();
        assert_eq!(out.description, "Rewritten.");
        let book = out.character_book.unwrap();
        assert_eq!(book.entries[0].content, "New lore.");
        assert_eq!(book.entries[0].extra, spec.character_book.as_ref().unwrap().entries[0].extra, "unknown keys kept");
        assert_eq!(book.entries.last().unwrap().keys, ["dragon"]);
        let mut nameless = form;
        nameless.name = " ".into();
        assert!(apply_form(spec, nameless).is_err());
    }

    #[test]
    fn a_card_reads_its_macros_as_a_reader_would() {
        let mut spec = AgentSpec { name: "Lena".into(), ..Default::default() };
        spec.description = "{{char}} teaches {{user}} Spanish.".into();
        let agent = crate::agent::Agent::new(spec, Default::default()).unwrap();
        let summary = AgentSummary {
            id: "x".into(),
            name: "Lena".into(),
            version: 1,
            origin: None,
            created_at: 0,
            updated_at: 0,
            deleted_at: None,
        };
        assert_eq!(card(&summary, &agent).summary, "Lena teaches you Spanish.");
    }
}
