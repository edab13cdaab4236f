//! The bundled sample agents from `agents/`, embedded in the binary so a
//! fresh install has something to talk to.

use std::collections::BTreeMap;

use crate::agent::{Agent, CardError, parse_card_json, spec_from_v3};

/// One bundled agent: its folder name, card, avatar, and the documents of
/// its knowledge base (`agents/<slug>/knowledge/`), if it has one.
pub struct Sample {
    pub slug: &'static str,
    card: &'static [u8],
    avatar: &'static [u8],
    pub knowledge: &'static [(&'static str, &'static [u8])],
}

const AVATAR: &str = "assets/icon/images/main.png";

macro_rules! sample {
    ($slug:literal $(, $doc:literal)*) => {
        Sample {
            slug: $slug,
            card: include_bytes!(concat!("../agents/", $slug, "/card.json")),
            avatar: include_bytes!(concat!("../agents/", $slug, "/assets/icon/images/main.png")),
            knowledge: &[$(($doc, include_bytes!(concat!("../agents/", $slug, "/knowledge/", $doc)))),*],
        }
    };
}

pub const SAMPLES: &[Sample] =
    &[sample!("lena"), sample!("orbit"), sample!("bram"), sample!("ada", "jargon-file-chapters.md")];

impl Sample {
    /// The origin recorded for this sample in the store.
    pub fn origin(&self) -> String {
        format!("sample:{}", self.slug)
    }

    pub fn agent(&self) -> Result<Agent, CardError> {
        let spec = spec_from_v3(&parse_card_json(self.card)?)?;
        Agent::new(spec, BTreeMap::from([(AVATAR.to_owned(), self.avatar.to_vec())]))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_sample_is_a_valid_agent_with_an_avatar_and_a_lorebook() {
        for sample in super::SAMPLES {
            let agent = sample.agent().unwrap_or_else(|e| panic!("{}: {e}", sample.slug));
            assert!(agent.avatar().is_some(), "{} has no avatar", sample.slug);
            assert!(agent.spec().character_book.as_ref().is_some_and(|b| !b.entries.is_empty()));
            assert!(agent.spec().creator_notes.contains("License: CC0-1.0"));
        }
    }
}
