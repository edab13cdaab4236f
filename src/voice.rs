//! Voice in the studio, apart from the models: the consent sentence a creator
//! reads and how a read-out is held against it, the drafts of voice profiles
//! (a checked reference waiting for consent), and the stages of spoken turns.
//!
//! Architecture invariant: a voice profile exists in an agent only with an
//! accepted consent: the read-out's transcript matched the sentence shown and
//! its fingerprint matched the reference. The draft holds the reference until
//! then; the profile (recordings, fingerprint, checks, consent) is then saved
//! in the agent as a new version, so it travels in the agent's package.

use serde::Serialize;
use sqlx::{Row, SqlitePool};

/// A bundled voice preset (`voices/`): a voice without a profile.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoicePreset {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `piper`.
    pub engine: String,
    /// The Piper model, e.g. `en_US-joe-medium`.
    pub model: String,
    pub rate: f32,
    pub pitch: f32,
}

/// The presets of `voices/`, embedded in the binary.
const PRESETS: &[&str] = &[
    include_str!("../voices/joe.json"),
    include_str!("../voices/joe-calm.json"),
    include_str!("../voices/joe-bright.json"),
];

/// The preset agents use when they name none.
pub const DEFAULT_PRESET: &str = "joe";

/// The bundled voice presets.
pub fn presets() -> Vec<VoicePreset> {
    // Embedded at build time and checked by a test: a preset that fails to parse is a build error in waiting.
    PRESETS.iter().filter_map(|json| serde_json::from_str(json).ok()).collect()
}

/// A bundled preset by id.
pub fn preset(id: &str) -> Option<VoicePreset> {
    presets().into_iter().find(|p| p.id == id)
}

/// The fingerprint model profiles are computed with.
pub const FINGERPRINT_MODEL: &str = "resemblyzer-ge2e-0.1.4";
/// A read-out may miss at most this share of the sentence's words.
pub const CONSENT_MAX_WER: f64 = 0.25;
/// The read-out's fingerprint must be at least this similar to the reference's.
pub const SAME_SPEAKER: f32 = 0.75;

/// Words the consent sentence draws from: long, common and distinct, so that
/// speech recognition gets them right, and a fresh sentence each time cannot
/// be met with an old recording.
const WORDS: &[&str] = &[
    "butterfly",
    "telephone",
    "umbrella",
    "elephant",
    "chocolate",
    "bicycle",
    "hospital",
    "computer",
    "kangaroo",
    "potato",
    "banana",
    "volcano",
    "dinosaur",
    "tomato",
    "avocado",
    "calendar",
    "pineapple",
    "hamburger",
    "alligator",
    "broccoli",
    "cinnamon",
    "helicopter",
    "magazine",
    "microphone",
    "newspaper",
    "orchestra",
    "pajamas",
    "piano",
    "spaghetti",
    "strawberry",
    "telescope",
    "vanilla",
    "watermelon",
    "yesterday",
    "basketball",
    "cucumber",
    "tornado",
    "octopus",
    "penguin",
    "raspberry",
    "triangle",
    "violin",
    "lemonade",
    "gorilla",
    "buffalo",
    "cathedral",
    "detective",
    "engineer",
    "festival",
    "galaxy",
    "harmony",
    "jellyfish",
    "lavender",
    "mosquito",
    "pyramid",
    "saxophone",
    "universe",
    "vitamin",
    "xylophone",
    "carousel",
    "crocodile",
    "escalator",
    "flamingo",
    "hurricane",
    "parachute",
    "porcupine",
    "skeleton",
    "submarine",
    "thermometer",
    "trampoline",
    "unicorn",
    "valentine",
    "astronaut",
    "avalanche",
    "ballerina",
    "cafeteria",
    "camera",
    "caravan",
    "dictionary",
    "envelope",
    "furniture",
    "gasoline",
    "guitar",
    "horizon",
    "library",
    "medicine",
    "museum",
    "november",
    "oregano",
    "pelican",
    "rectangle",
    "satellite",
    "tangerine",
    "tuxedo",
    "vegetable",
    "waterfall",
];

/// How many random words a consent sentence carries.
const CHALLENGE_WORDS: usize = 3;

/// The sentence a creator reads to consent to `agent_name` speaking in their
/// voice, with random words drawn from `seed`.
pub fn consent_sentence(agent_name: &str, seed: u64) -> String {
    let mut state = seed;
    let mut picked: Vec<&str> = Vec::new();
    while picked.len() < CHALLENGE_WORDS {
        // splitmix64
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let word = WORDS[((z ^ (z >> 31)) % WORDS.len() as u64) as usize];
        if !picked.contains(&word) {
            picked.push(word);
        }
    }
    let name: String = agent_name.chars().filter(|c| c.is_alphanumeric() || *c == ' ').collect();
    let name = if name.trim().is_empty() { "this agent".to_owned() } else { name.trim().to_owned() };
    format!(
        "This is my own voice, and I agree that {name} may speak with it. My words for today are {}, {} and {}.",
        picked[0], picked[1], picked[2]
    )
}

/// The challenge words of a consent sentence (those after "are").
fn challenge_words(sentence: &str) -> Vec<String> {
    let w = words(sentence);
    match w.iter().rposition(|x| x == "are") {
        Some(i) => w[i + 1..].iter().filter(|x| *x != "and").cloned().collect(),
        None => Vec::new(),
    }
}

/// Lowercase words without punctuation.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate: the word-level edit distance over the reference's length.
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let (r, h) = (words(reference), words(hypothesis));
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for i in 1..=r.len() {
        let mut prev = row[0];
        row[0] = i;
        for j in 1..=h.len() {
            let cost = usize::from(r[i - 1] != h[j - 1]);
            let next = (row[j] + 1).min(row[j - 1] + 1).min(prev + cost);
            prev = row[j];
            row[j] = next;
        }
    }
    row[h.len()] as f64 / r.len().max(1) as f64
}

/// Character error rate over letters and digits alone: the edit distance of
/// the two texts with spaces, punctuation and case dropped, over the
/// reference's length. Unlike the word error rate it does not count
/// "note-taking" heard as "note taking", or "Quillnote's" as "Quill note's", as
/// two errors each.
pub fn char_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let letters = |t: &str| t.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect::<String>();
    let reference = letters(reference);
    edit_distance(&reference, &letters(hypothesis)) as f64 / reference.chars().count().max(1) as f64
}

/// How a consent read-out held against its sentence and the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConsentCheck {
    pub transcript: String,
    pub word_error_rate: f64,
    /// Challenge words the transcript lacks (neither spelled nor sounding alike).
    pub missing_words: Vec<String>,
    pub similarity: f32,
    pub threshold: f32,
    pub accepted: bool,
    /// Why it was refused (empty when accepted).
    pub reasons: Vec<String>,
}

/// Challenge words speech recognition may get wrong (the sentence's other words
/// and the word error bound still hold).
const MAY_MISS: usize = 1;

/// How far a challenge word may sound from what was heard and still count as
/// said: a share of its phonemes (vowels weigh half). Speech recognition
/// misspells words it heard ("warfall", "Q-Kumber", "Grilla"); in 96 read-outs
/// by the default voice, the 20 challenge words misspelled sounded 0.0–0.55
/// from what was heard (all but 5 within 0.3), while the other words of the
/// list sounded at least 0.33 from any heard run of words.
const SOUNDS_LIKE: f64 = 0.3;

/// The IPA of each of a list of words, one for one (`None` when no phonemizer
/// can run: then only spelling counts).
pub type Phonemes<'a> = &'a dyn Fn(&[String]) -> Option<Vec<String>>;

/// Whether `word` is among `heard`: as a word, or as two heard words run
/// together ("basket ball"), allowing one letter of difference in eight.
fn was_spelled(word: &str, heard: &[String]) -> bool {
    let close = |w: &str| edit_distance(word, w) <= word.chars().count() / 8;
    heard.iter().any(|h| close(h)) || heard.windows(2).any(|p| close(&format!("{}{}", p[0], p[1])))
}

/// Levenshtein distance between two strings, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 1..=b.len() {
            let next = (row[j] + 1).min(row[j - 1] + 1).min(prev + usize::from(ca != b[j - 1]));
            prev = row[j];
            row[j] = next;
        }
    }
    row[b.len()]
}

/// The challenge words not heard: neither spelled nor, by their phonemes,
/// sounding like one to three consecutive heard words.
fn missing_words(challenge: Vec<String>, heard: &[String], phonemes: Phonemes) -> Vec<String> {
    let missing: Vec<String> = challenge.into_iter().filter(|w| !was_spelled(w, heard)).collect();
    if missing.is_empty() || heard.is_empty() {
        return missing;
    }
    let asked: Vec<String> = missing.iter().chain(heard).cloned().collect();
    let Some(ipa) = phonemes(&asked).filter(|ipa| ipa.len() == asked.len()) else {
        return missing;
    };
    let (said, heard_ipa) = ipa.split_at(missing.len());
    let heard_ipa: Vec<Vec<char>> = heard_ipa.iter().map(|p| sounds(p)).collect();
    missing
        .into_iter()
        .zip(said)
        .filter(|(_, word)| {
            let word = sounds(word);
            !(1..=3).any(|n| heard_ipa.windows(n).any(|run| phoneme_distance(&word, &run.concat()) <= SOUNDS_LIKE))
        })
        .map(|(w, _)| w)
        .collect()
}

/// The phonemes of an IPA string, without stress, length and spaces.
fn sounds(ipa: &str) -> Vec<char> {
    ipa.chars().filter(|c| c.is_alphabetic() && !matches!(c, 'ˈ' | 'ˌ' | 'ː' | 'ˑ')).collect()
}

fn is_vowel(c: char) -> bool {
    "aeiouyæɑɒɔəɚɛɜɝɪʊʌɐᵻɘɵɯøɨ".contains(c)
}

/// What inserting or dropping a phoneme costs: a vowel half a consonant.
fn weight(c: char) -> f64 {
    if is_vowel(c) { 0.5 } else { 1.0 }
}

/// What hearing `b` for `a` costs: vowels for vowels, and consonants that
/// differ in voicing or little else, half.
fn substitution(a: char, b: char) -> f64 {
    const ALIKE: [&str; 9] = ["tdɾ", "sz", "ʃʒ", "θð", "nŋm", "pb", "kɡg", "fv", "ɹɚ"];
    if a == b {
        0.0
    } else if (is_vowel(a) && is_vowel(b)) || ALIKE.iter().any(|p| p.contains(a) && p.contains(b)) {
        0.5
    } else {
        1.0
    }
}

/// The weighted edit distance from a word's phonemes to heard ones, over the
/// word's weight (heard phonemes beyond the word's count against it).
fn phoneme_distance(word: &[char], heard: &[char]) -> f64 {
    let (a, b) = (word, heard);
    let mut row: Vec<f64> = std::iter::once(0.0)
        .chain(b.iter().scan(0.0, |w, &c| {
            *w += weight(c);
            Some(*w)
        }))
        .collect();
    for &ca in a {
        let mut prev = row[0];
        row[0] += weight(ca);
        for j in 1..=b.len() {
            let next = (row[j] + weight(ca)).min(row[j - 1] + weight(b[j - 1])).min(prev + substitution(ca, b[j - 1]));
            prev = row[j];
            row[j] = next;
        }
    }
    let word_weight: f64 = a.iter().map(|&c| weight(c)).sum();
    match (word_weight == 0.0, b.is_empty()) {
        (true, true) => 0.0,
        (true, false) => 1.0,
        (false, _) => row[b.len()] / word_weight,
    }
}

/// Holds a read-out (its transcript, and its fingerprint's similarity to the
/// reference) against the sentence shown. `phonemes` lets a challenge word
/// that speech recognition misspelled count when it sounds alike.
pub fn check_consent(sentence: &str, transcript: &str, similarity: f32, phonemes: Phonemes) -> ConsentCheck {
    let wer = word_error_rate(sentence, transcript);
    let missing = missing_words(challenge_words(sentence), &words(transcript), phonemes);
    let mut reasons = Vec::new();
    if wer > CONSENT_MAX_WER || missing.len() > MAY_MISS {
        let detail = if missing.is_empty() { String::new() } else { format!(" (missing: {})", missing.join(", ")) };
        reasons.push(format!(
            "the read-out does not match the sentence{detail}: heard {transcript:?}; read the sentence exactly as shown"
        ));
    }
    if similarity < SAME_SPEAKER {
        reasons.push(format!(
            "the voice of the read-out does not match the reference (similarity {similarity:.2}, at least {SAME_SPEAKER:.2} needed): the person in the reference must read it"
        ));
    }
    ConsentCheck {
        transcript: transcript.to_owned(),
        word_error_rate: wer,
        missing_words: missing,
        similarity,
        threshold: SAME_SPEAKER,
        accepted: reasons.is_empty(),
        reasons,
    }
}

/// A reference that passed its checks, waiting for consent.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub agent_id: String,
    /// Mono 16-bit WAV.
    pub reference: Vec<u8>,
    pub fingerprint: Vec<f32>,
    pub report: serde_json::Value,
    pub sentence: String,
    pub created_at: i64,
}

/// The stages of one spoken turn, stored beside its reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct VoiceTurn {
    pub message_id: String,
    pub conversation_id: String,
    /// `default` or `cloned`.
    pub voice: String,
    /// Why the default voice spoke for an agent with a profile.
    pub voice_note: Option<String>,
    pub stages: serde_json::Value,
    pub interrupted: bool,
    pub created_at: i64,
}

/// The voice tables.
pub struct Voices<'a> {
    pub pool: &'a SqlitePool,
}

impl Voices<'_> {
    /// Saves the agent's draft, replacing an earlier one.
    pub async fn save_draft(&self, draft: &Draft) -> Result<(), sqlx::Error> {
        let fingerprint = serde_json::to_string(&draft.fingerprint).unwrap_or_default();
        sqlx::query(
            "INSERT OR REPLACE INTO voice_profile_drafts (agent_id, reference, fingerprint, report, sentence, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&draft.agent_id)
        .bind(&draft.reference)
        .bind(fingerprint)
        .bind(draft.report.to_string())
        .bind(&draft.sentence)
        .bind(draft.created_at)
        .execute(self.pool)
        .await?;
        Ok(())
    }

    pub async fn draft(&self, agent_id: &str) -> Result<Option<Draft>, sqlx::Error> {
        let Some(row) = sqlx::query("SELECT * FROM voice_profile_drafts WHERE agent_id = ?")
            .bind(agent_id)
            .fetch_optional(self.pool)
            .await?
        else {
            return Ok(None);
        };
        let text = |name: &str| row.try_get::<String, _>(name);
        Ok(Some(Draft {
            agent_id: row.try_get("agent_id")?,
            reference: row.try_get("reference")?,
            fingerprint: serde_json::from_str(&text("fingerprint")?).unwrap_or_default(),
            report: serde_json::from_str(&text("report")?).unwrap_or_default(),
            sentence: text("sentence")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    pub async fn delete_draft(&self, agent_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM voice_profile_drafts WHERE agent_id = ?").bind(agent_id).execute(self.pool).await?;
        Ok(())
    }

    pub async fn record_turn(&self, turn: &VoiceTurn) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT OR REPLACE INTO voice_turns
             (message_id, conversation_id, voice, voice_note, stages, interrupted, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&turn.message_id)
        .bind(&turn.conversation_id)
        .bind(&turn.voice)
        .bind(&turn.voice_note)
        .bind(turn.stages.to_string())
        .bind(turn.interrupted)
        .bind(turn.created_at)
        .execute(self.pool)
        .await?;
        Ok(())
    }

    /// The spoken turns of a conversation, oldest first.
    pub async fn turns(&self, conversation_id: &str) -> Result<Vec<VoiceTurn>, sqlx::Error> {
        let rows = sqlx::query("SELECT * FROM voice_turns WHERE conversation_id = ? ORDER BY created_at, rowid")
            .bind(conversation_id)
            .fetch_all(self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(VoiceTurn {
                    message_id: row.try_get("message_id")?,
                    conversation_id: row.try_get("conversation_id")?,
                    voice: row.try_get("voice")?,
                    voice_note: row.try_get("voice_note")?,
                    stages: serde_json::from_str(&row.try_get::<String, _>("stages")?).unwrap_or_default(),
                    interrupted: row.try_get("interrupted")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_preset_parses_and_the_default_is_one_of_them() {
        assert_eq!(presets().len(), PRESETS.len());
        assert!(preset(DEFAULT_PRESET).is_some());
        for p in presets() {
            assert_eq!(p.engine, "piper", "{p:?}");
            assert!((0.5..=2.0).contains(&p.rate) && (-12.0..=12.0).contains(&p.pitch), "{p:?}");
        }
    }

    #[test]
    fn the_character_error_rate_counts_letters_not_where_words_split() {
        assert_eq!(super::char_error_rate("a note-taking app", "A note taking app."), 0.0);
        assert_eq!(super::char_error_rate("Quillnote's notes", "quill notes notes"), 0.0);
        assert_eq!(super::char_error_rate("abcd", "abxd"), 0.25);
        assert_eq!(super::char_error_rate("abcd", ""), 1.0);
        assert_eq!(super::char_error_rate("", ""), 0.0);
    }

    #[test]
    fn a_consent_sentence_names_the_agent_and_three_random_words() {
        let a = consent_sentence("Orbit", 1);
        assert!(a.contains("Orbit may speak"), "{a}");
        assert_eq!(challenge_words(&a).len(), 3, "{a}");
        assert_ne!(a, consent_sentence("Orbit", 2), "a fresh sentence each time");
        assert_eq!(a, consent_sentence("Orbit", 1));
        assert!(consent_sentence("<script>", 3).contains("script may speak"));
    }

    #[test]
    fn a_read_out_must_say_the_sentence_in_the_same_voice() {
        let sentence = consent_sentence("Ada", 7);
        let words = challenge_words(&sentence);
        let exact = check_consent(&sentence, &sentence.to_uppercase(), 0.9, &espeak);
        assert!(exact.accepted, "{exact:?}");
        // A recognition slip elsewhere is tolerated; a missing challenge word is not.
        let slip = sentence.replace("own", "old");
        assert!(check_consent(&sentence, &slip, 0.9, &espeak).accepted);
        // One challenge word misheard is tolerated, two are not; words run apart still count.
        let one = check_consent(&sentence, &sentence.replace(&words[1], "sandwich"), 0.9, &espeak);
        assert!(one.accepted && one.missing_words == [words[1].clone()], "{one:?}");
        let two = sentence.replace(&words[1], "sandwich").replace(&words[2], "sandwich");
        assert!(!check_consent(&sentence, &two, 0.9, &espeak).accepted);
        let split = sentence.replace(&words[0], &format!("{} {}", &words[0][..3], &words[0][3..]));
        assert!(check_consent(&sentence, &split, 0.9, &espeak).missing_words.is_empty(), "{split}");
        let other_voice = check_consent(&sentence, &sentence, 0.5, &espeak);
        assert!(!other_voice.accepted && other_voice.reasons[0].contains("does not match the reference"));
        let nothing = check_consent(&sentence, "", 0.9, &espeak);
        assert!(!nothing.accepted && nothing.word_error_rate == 1.0);
    }

    /// espeak-ng's phonemes, as the studio asks for them.
    fn espeak(words: &[String]) -> Option<Vec<String>> {
        Some(familiar_voice::tts::phonemize_words(words, "en-us").expect("espeak-ng runs"))
    }

    fn no_phonemizer(_: &[String]) -> Option<Vec<String>> {
        None
    }

    #[test]
    fn a_challenge_word_speech_recognition_misspelled_counts_when_it_sounds_alike() {
        let sentence = "This is my own voice, and I agree that Bram may speak with it. My words for today are waterfall, avalanche and guitar.";
        // Whisper tiny.en on the default voice reading it (a read-out the check once refused).
        let heard = "This is my own voice, and I agree that Bran may speak with it, my words for today are \"warfall,\" \"I've a lunch\" and \"Guitar.\"";
        let check = check_consent(sentence, heard, 0.97, &espeak);
        assert!(check.accepted, "{check:?}");
        assert_eq!(check.missing_words, ["avalanche"], "“warfall” sounds like waterfall; “I've a lunch” is too far");
        // Without a phonemizer, spelling alone decides.
        assert_eq!(check_consent(sentence, heard, 0.97, &no_phonemizer).missing_words, ["waterfall", "avalanche"]);

        let heard = "My words for today are \"Grilla,\" \"Lavender,\" and \"Q-Kumber.\"";
        assert_eq!(
            missing_words(vec!["gorilla".into(), "lavender".into(), "cucumber".into()], &words(heard), &espeak),
            [] as [String; 0]
        );
    }

    #[test]
    fn another_word_of_the_list_does_not_sound_like_the_one_asked_for() {
        // The closest pairs of the list, read one for the other, stay missing.
        for (asked, said) in [
            ("violin", "vitamin"),
            ("potato", "tomato"),
            ("telephone", "xylophone"),
            ("lavender", "calendar"),
            ("avalanche", "banana"),
        ] {
            let heard = words(&format!("My words for today are {said}, piano and museum."));
            assert_eq!(missing_words(vec![asked.into()], &heard, &espeak), [asked], "{said} for {asked}");
        }
    }

    #[test]
    fn phoneme_distance_weighs_vowels_and_like_consonants_half() {
        let d = |a: &str, b: &str| phoneme_distance(&sounds(a), &sounds(b));
        assert_eq!(d("ˈævəlˌænʃ", "ˈævəlˌænʃ"), 0.0);
        assert_eq!(d("bɹˈæm", "bɹˈæn"), 0.5 / 3.5, "m and n are alike");
        assert_eq!(d("bɹˈæm", "bɹˈɛm"), 0.5 / 3.5, "a vowel for a vowel");
        assert_eq!(d("bɹˈæm", "bɹˈækt"), 2.0 / 3.5, "another consonant, and one more");
        assert_eq!(d("bɹˈæm", "ðə bɹˈæm"), 1.5 / 3.5, "what else was heard counts against the word");
        assert_eq!(d("", ""), 0.0);
        assert_eq!(d("", "ə"), 1.0);
        assert_eq!(d("ə", ""), 1.0);
    }
}
