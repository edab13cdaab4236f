//! Chat with the bundled model: turns stored with their model, sampling and
//! timings; same seed, same reply; regenerate, edit, branch and delete.

use familiar::api::{self, TurnOptions};

use crate::support::*;

fn options(seed: u64) -> TurnOptions {
    TurnOptions { seed: Some(seed), max_tokens: Some(24), ..Default::default() }
}

fn quiet() -> Box<dyn FnMut(&str) + Send> {
    Box::new(|_| {})
}

#[tokio::test]
async fn a_turn_is_streamed_and_stored_with_its_model_sampling_and_timings() {
    let (_dir, studio) = studio_with_model().await;
    let conversation = api::start_conversation(&studio, "Bram", Some("Ana"), 0).await.unwrap();
    let (_, thread) = api::conversation(&studio, &conversation.id).await.unwrap();
    assert_eq!(thread.len(), 1, "the greeting opens the conversation");
    assert!(thread[0].content.contains("Ana") && !thread[0].content.contains("{{user}}"), "{}", thread[0].content);

    let streamed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = {
        let streamed = streamed.clone();
        Box::new(move |t: &str| streamed.lock().unwrap().push_str(t))
    };
    let report = api::send_message(
        &studio,
        &conversation.id,
        "Tell me about the Sunken Bell in Stillwater Mere.",
        &options(7),
        sink,
        Default::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.model, "smollm2-135m-instruct-q4_1");
    assert!(!report.message.content.is_empty());
    assert_eq!(streamed.lock().unwrap().trim(), report.message.content);
    assert!(report.lore_entries >= 2, "the constant entry and the selective bell entry fire");
    let timings = report.message.timings.as_ref().unwrap();
    assert!(timings["prompt_tokens"].as_u64().unwrap() > 300);
    assert!(timings["first_token_ms"].as_f64().unwrap() > 0.0);
    assert_eq!(report.message.sampling.as_ref().unwrap()["seed"], 7);
    let (_, thread) = api::conversation(&studio, &conversation.id).await.unwrap();
    assert_eq!(thread.iter().map(|m| m.role.as_str()).collect::<Vec<_>>(), ["assistant", "user", "assistant"]);

    // The next turn reuses the cached persona and history.
    let next = api::send_message(
        &studio,
        &conversation.id,
        "And who guards the bridge?",
        &options(7),
        quiet(),
        Default::default(),
    )
    .await
    .unwrap();
    assert!(next.reused_tokens > 300, "reused {} of {}", next.reused_tokens, next.prompt_tokens);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_reply() {
    let (_dir, studio) = studio_with_model().await;
    let mut replies = Vec::new();
    for _ in 0..2 {
        let c = api::start_conversation(&studio, "Lena", None, 0).await.unwrap();
        let r =
            api::send_message(&studio, &c.id, "How do I say good morning?", &options(3), quiet(), Default::default())
                .await
                .unwrap();
        replies.push(r.message.content);
    }
    assert_eq!(replies[0], replies[1]);
}

#[tokio::test]
async fn regenerate_edit_branch_and_delete_keep_every_version() {
    let (_dir, studio) = studio_with_model().await;
    let c = api::start_conversation(&studio, "Orbit", Some("Sam"), 0).await.unwrap();
    let first =
        api::send_message(&studio, &c.id, "How do I export my notes?", &options(1), quiet(), Default::default())
            .await
            .unwrap();
    let second = api::regenerate(&studio, &c.id, &options(2), quiet(), Default::default()).await.unwrap();
    assert_ne!(first.message.id, second.message.id);
    assert_eq!(first.message.parent_id, second.message.parent_id, "a regenerated reply is a sibling");
    let versions = api::message_versions(&studio, &c.id, &second.message.id).await.unwrap();
    assert_eq!(
        versions.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        [first.message.id.as_str(), second.message.id.as_str()]
    );
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, second.message.id);

    // Edit the question: a new branch; the old one is still there.
    let question = thread[thread.len() - 2].clone();
    let edited = api::edit_message(&studio, &c.id, &question.id, "How do I back up my vault?").await.unwrap();
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, edited.id);
    assert_eq!(thread.len(), 2, "greeting, edited question");
    // Branch back to the first reply.
    api::branch_from(&studio, &c.id, &first.message.id).await.unwrap();
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, first.message.id);
    assert_eq!(thread[1].content, "How do I export my notes?");

    // Going on from the first reply, then switching versions, brings back where each went on.
    let follow_up =
        api::send_message(&studio, &c.id, "And to PDF?", &options(3), quiet(), Default::default()).await.unwrap();
    api::switch_version(&studio, &c.id, &second.message.id).await.unwrap();
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, second.message.id, "the second reply had no continuation");
    api::switch_version(&studio, &c.id, &first.message.id).await.unwrap();
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().id, follow_up.message.id, "the first reply's continuation is back");
    api::branch_from(&studio, &c.id, &first.message.id).await.unwrap();

    // Delete the question: its replies go with it, the head moves back to the greeting.
    api::delete_message(&studio, &c.id, &question.id).await.unwrap();
    let (conversation, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.len(), 1);
    assert_eq!(conversation.head_id.as_deref(), Some(thread[0].id.as_str()));
    let err = api::branch_from(&studio, &c.id, &first.message.id).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::NotFound);
}

#[tokio::test]
async fn chat_without_a_model_says_what_to_do() {
    let (_dir, studio) = studio().await;
    api::install_samples(&studio).await.unwrap();
    let c = api::start_conversation(&studio, "Lena", None, 0).await.unwrap();
    let err = api::send_message(&studio, &c.id, "Hola", &options(1), quiet(), Default::default()).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::NoModel);
    assert!(err.to_string().contains("familiar models pull"), "{err}");
    // The user's message is kept.
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().content, "Hola");
    assert!(
        api::start_conversation(&studio, "Lena", None, 9)
            .await
            .unwrap_err()
            .to_string()
            .contains("alternate greetings")
    );
}

#[tokio::test]
async fn an_agents_own_chat_template_is_used_and_a_broken_one_is_a_clear_error() {
    let (_dir, studio) = studio_with_model().await;
    let (_, agent) = api::agent(&studio, "Lena").await.unwrap();
    let mut spec = agent.spec().clone();
    // A template that says who speaks in plain words instead of ChatML.
    let plain = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
    spec.familiar.model.get_or_insert_with(Default::default).chat_template = Some(plain.into());
    api::update_agent(&studio, "Lena", spec.clone(), "own template").await.unwrap();
    let c = api::start_conversation(&studio, "Lena", None, 0).await.unwrap();
    let with_own = api::send_message(&studio, &c.id, "Hola", &options(1), quiet(), Default::default()).await.unwrap();
    spec.familiar.model.as_mut().unwrap().chat_template = None;
    api::update_agent(&studio, "Lena", spec.clone(), "model's template").await.unwrap();
    let c2 = api::start_conversation(&studio, "Lena", None, 0).await.unwrap();
    let with_model =
        api::send_message(&studio, &c2.id, "Hola", &options(1), quiet(), Default::default()).await.unwrap();
    assert_ne!(with_own.prompt_tokens, with_model.prompt_tokens, "the prompt was rendered differently");

    spec.familiar.model.as_mut().unwrap().chat_template =
        Some("{{ raise_exception('this template needs tools') }}".into());
    api::update_agent(&studio, "Lena", spec, "broken template").await.unwrap();
    let err =
        api::send_message(&studio, &c.id, "¿Y ahora?", &options(1), quiet(), Default::default()).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::ModelFailed);
    assert!(err.to_string().contains("this template needs tools"), "{err}");
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.last().unwrap().content, "¿Y ahora?", "the conversation keeps the user's message");
    assert_eq!(thread.len(), 4);
}

#[tokio::test]
async fn a_conversation_longer_than_the_context_drops_its_oldest_turns() {
    let (_dir, studio) = studio_with_model().await;
    let (_, agent) = api::agent(&studio, "Orbit").await.unwrap();
    let mut spec = agent.spec().clone();
    // A small context, so that a few turns overflow it.
    spec.familiar.model.get_or_insert_with(Default::default).context_length = Some(1800);
    api::update_agent(&studio, "Orbit", spec, "short context").await.unwrap();
    let c = api::start_conversation(&studio, "Orbit", None, 0).await.unwrap();
    let question =
        "Please explain, step by step and in detail, how syncing between my laptop and my phone works. ".repeat(10);
    let mut last = None;
    for _ in 0..5 {
        last =
            Some(api::send_message(&studio, &c.id, &question, &options(2), quiet(), Default::default()).await.unwrap());
    }
    let last = last.unwrap();
    assert!(last.dropped_turns > 0, "old turns were dropped");
    assert!(last.prompt_tokens <= 1800 - 24, "{} tokens", last.prompt_tokens);
    assert!(last.lore_entries > 0, "the lorebook is still applied");
    let (_, thread) = api::conversation(&studio, &c.id).await.unwrap();
    assert_eq!(thread.len(), 11, "nothing is deleted from the conversation itself");
}
