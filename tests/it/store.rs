//! The SQLite store: migrations, WAL, version history, trash.

use familiar::agent::ImportOptions;
use familiar::api;
use familiar::store::{MIGRATOR, Store};
use sqlx::Row;
use sqlx::sqlite::SqliteConnectOptions;

use crate::support::*;

async fn raw_pool(path: &std::path::Path) -> sqlx::SqlitePool {
    let options = SqliteConnectOptions::new().filename(path).create_if_missing(true);
    sqlx::SqlitePool::connect_with(options).await.unwrap()
}

#[tokio::test]
async fn every_migration_applies_on_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("familiar.db");
    let store = Store::open(&path).await.unwrap();
    let tables: Vec<String> = sqlx::query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name"))
        .collect();
    for table in ["agent_files", "agent_versions", "agents", "blobs"] {
        assert!(tables.contains(&table.to_string()), "{table} in {tables:?}");
    }
    let mode: String = sqlx::query("PRAGMA journal_mode").fetch_one(store.pool()).await.unwrap().get(0);
    assert_eq!(mode, "wal");
    store.close().await;
    // Opening again applies nothing and fails on nothing.
    Store::open(&path).await.unwrap().close().await;
}

/// A database left at each earlier schema, with data in it, is brought up to
/// date without losing that data.
#[tokio::test]
async fn every_migration_applies_on_a_database_from_an_earlier_schema() {
    let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert!(versions.len() >= 2);
    for &previous in &versions[..versions.len() - 1] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("familiar.db");
        let pool = raw_pool(&path).await;
        MIGRATOR.run_to(previous, &pool).await.unwrap();
        // Data as the first release wrote it: an agent with one version.
        let card = v3_card("Old Timer");
        sqlx::query("INSERT INTO agents (id, name, head_version, origin, created_at, updated_at) VALUES ('old', 'Old Timer', 1, NULL, 1, 1)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO agent_versions (agent_id, version, card_json, reason, created_at) VALUES ('old', 1, ?, 'import', 1)")
            .bind(card)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;

        let store = Store::open(&path).await.unwrap();
        assert_eq!(store.agent("old").await.unwrap().name(), "Old Timer", "after upgrading from {previous}");
        let check: String = sqlx::query("PRAGMA integrity_check").fetch_one(store.pool()).await.unwrap().get(0);
        assert_eq!(check, "ok");
        let applied: i64 =
            sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(store.pool()).await.unwrap().get(0);
        assert_eq!(applied as usize, versions.len());
        store.close().await;
    }
}

#[tokio::test]
async fn every_save_keeps_the_previous_version_and_restore_is_undoable() {
    let (dir, studio) = studio().await;
    let path = write(dir.path(), "v3.json", &fixture("v3-full.json"));
    let id = api::import_agent(&studio, &path, ImportOptions::default()).await.unwrap().id;
    let original = studio.store().agent(&id).await.unwrap();

    assert_eq!(api::set_agent_field(&studio, &id, "description", "Rewritten.").await.unwrap(), 2);
    assert_eq!(api::set_agent_field(&studio, &id, "name", "Yara II").await.unwrap(), 3);
    // Saving what is already there adds no version.
    assert_eq!(api::set_agent_field(&studio, &id, "name", "Yara II").await.unwrap(), 3);

    let history = api::agent_history(&studio, &id).await.unwrap();
    let summary: Vec<(i64, &str, &str)> =
        history.iter().map(|v| (v.version, v.name.as_str(), v.reason.as_str())).collect();
    assert_eq!(
        summary,
        [(3, "Yara II", "edit name"), (2, "Yara يارا", "edit description"), (1, "Yara يارا", "import")]
    );

    assert_eq!(api::restore_agent(&studio, &id, 1).await.unwrap(), 4);
    let restored = studio.store().agent(&id).await.unwrap();
    assert_eq!(restored, original, "files and every field come back");
    assert_eq!(studio.store().agent_version(&id, 2).await.unwrap().spec().description, "Rewritten.");
    assert_eq!(api::agent_history(&studio, &id).await.unwrap()[0].reason, "restore 1");
    assert_eq!(api::list_agents(&studio).await.unwrap()[0].name, "Yara يارا");

    let err = api::restore_agent(&studio, &id, 99).await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::NotFound);
    assert!(err.to_string().contains("has no version 99"));
    let err = api::set_agent_field(&studio, &id, "colour", "red").await.unwrap_err();
    assert!(err.to_string().contains("not an editable text field"));
}

#[tokio::test]
async fn delete_moves_to_the_trash_and_can_be_undone() {
    let (dir, studio) = studio().await;
    let path = write(dir.path(), "card.charx", &fixture("risu-style.charx"));
    let id = api::import_agent(&studio, &path, ImportOptions::default()).await.unwrap().id;
    api::delete_agent(&studio, "Risu Rider", false).await.unwrap();
    assert!(api::list_agents(&studio).await.unwrap().is_empty());
    assert_eq!(api::list_trash(&studio).await.unwrap()[0].id, id);
    api::undelete_agent(&studio, &id).await.unwrap();
    assert_eq!(api::list_agents(&studio).await.unwrap().len(), 1);

    api::delete_agent(&studio, &id, true).await.unwrap();
    assert!(api::list_agents(&studio).await.unwrap().is_empty());
    assert!(api::list_trash(&studio).await.unwrap().is_empty());
    let blobs: i64 = sqlx::query("SELECT COUNT(*) FROM blobs").fetch_one(studio.store().pool()).await.unwrap().get(0);
    assert_eq!(blobs, 0, "purging removes the agent's files");
}

#[tokio::test]
async fn agents_are_found_by_id_prefix_or_name() {
    let (dir, studio) = studio().await;
    let a = api::import_agent(&studio, &write(dir.path(), "a.json", &fixture("v1.json")), Default::default())
        .await
        .unwrap();
    let b = api::import_agent(&studio, &write(dir.path(), "b.json", &fixture("v1.json")), Default::default())
        .await
        .unwrap();
    assert_eq!(studio.store().resolve(&a.id[..8]).await.unwrap(), a.id);
    let err = api::agent(&studio, "old tom").await.unwrap_err();
    assert_eq!(err.code(), api::ErrorCode::Ambiguous);
    assert!(err.to_string().contains(&b.id));
    assert_eq!(api::agent(&studio, "nobody").await.unwrap_err().code(), api::ErrorCode::NotFound);
    assert_eq!(api::agent(&studio, "%").await.unwrap_err().code(), api::ErrorCode::NotFound);
}

#[tokio::test]
async fn samples_install_once_and_a_deleted_sample_stays_deleted() {
    let (_dir, studio) = studio().await;
    let installed = api::install_samples(&studio).await.unwrap();
    assert_eq!(installed.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["Lena", "Orbit", "Bram", "Ada"]);
    assert!(api::install_samples(&studio).await.unwrap().is_empty());
    api::delete_agent(&studio, "Orbit", false).await.unwrap();
    assert!(api::install_samples(&studio).await.unwrap().is_empty());
    assert_eq!(api::list_agents(&studio).await.unwrap().len(), 3);
}
