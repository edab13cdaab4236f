//! Remote engines: an agent answered by an OpenAI-compatible server — here,
//! another Familiar's `serve`, a real one on loopback.

use familiar::agent::RemoteEngine;
use familiar::api::{self, TurnOptions};

use crate::support::*;

#[tokio::test]
async fn an_agent_can_be_answered_by_an_openai_compatible_server() {
    // The server side: a studio with the bundled model, serving its agents.
    let (_server_dir, server) = studio_with_model().await;
    let (listener, addr) = familiar::serve::bind(0).await.unwrap();
    tokio::spawn(familiar::serve::serve(server, listener));

    // The client side: no local model at all.
    let (_dir, studio) = studio().await;
    api::install_samples(&studio).await.unwrap();
    let remote = RemoteEngine {
        base_url: format!("http://{addr}/v1"),
        model: "Orbit".into(),
        api_key_env: None,
        extra: Default::default(),
    };
    assert_eq!(api::set_remote_engine(&studio, "Bram", Some(remote)).await.unwrap(), 2);
    let c = api::start_conversation(&studio, "Bram", None, 0).await.unwrap();
    let streamed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = {
        let streamed = streamed.clone();
        Box::new(move |t: &str| streamed.lock().unwrap().push_str(t))
    };
    let options = TurnOptions { seed: Some(4), max_tokens: Some(12), ..Default::default() };
    let report = api::send_message(&studio, &c.id, "Hello there!", &options, sink, Default::default()).await.unwrap();
    assert_eq!(report.model, format!("remote:Orbit@http://{addr}/v1"));
    assert!(!report.message.content.is_empty());
    assert_eq!(streamed.lock().unwrap().trim(), report.message.content);
    assert_eq!(report.generated_tokens, 12);
    assert_eq!(report.stop, familiar_infer::StopReason::MaxTokens);

    // A server that is not there, and a key that is not set, are clear errors.
    let gone = RemoteEngine {
        base_url: "http://127.0.0.1:9/v1".into(),
        model: "x".into(),
        api_key_env: None,
        extra: Default::default(),
    };
    api::set_remote_engine(&studio, "Bram", Some(gone)).await.unwrap();
    let err = api::send_message(&studio, &c.id, "Still there?", &options, Box::new(|_| {}), Default::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::ModelFailed);
    assert!(err.to_string().starts_with("could not reach http://127.0.0.1:9/v1/chat/completions"), "{err}");
    let keyed = RemoteEngine {
        base_url: format!("http://{addr}/v1"),
        model: "Orbit".into(),
        api_key_env: Some("FAMILIAR_TEST_KEY_THAT_IS_NOT_SET".into()),
        extra: Default::default(),
    };
    api::set_remote_engine(&studio, "Bram", Some(keyed)).await.unwrap();
    let err =
        api::send_message(&studio, &c.id, "Again?", &options, Box::new(|_| {}), Default::default()).await.unwrap_err();
    assert_eq!(err.to_string(), "the API key variable `FAMILIAR_TEST_KEY_THAT_IS_NOT_SET` is not set");
    let bad =
        RemoteEngine { base_url: "ftp://x".into(), model: "x".into(), api_key_env: None, extra: Default::default() };
    assert!(api::set_remote_engine(&studio, "Bram", Some(bad)).await.is_err());
    // Back to local models.
    api::set_remote_engine(&studio, "Bram", None).await.unwrap();
    let (_, agent) = api::agent(&studio, "Bram").await.unwrap();
    assert!(agent.spec().familiar.model.as_ref().unwrap().remote.is_none());
}
