//! `cutover draft --issue FILE` as users run it: the fake model server (both wire formats),
//! a real PostgreSQL, the exit codes and messages of product.md.

use cutover_llm_fake::{API_KEY, FakeModel, Scenario};
use cutover_test_support::{TestDb, admin_url};
use std::process::Output;
use tokio::process::Command;

const SCHEMA: &str = include_str!("../../agent/tests/drafting/schema.sql");

struct Setup {
    db: TestDb,
    fake: FakeModel,
    dir: tempfile::TempDir,
}

async fn setup(scenario: &str) -> Setup {
    let db = TestDb::new().await;
    db.connect().await.batch_execute(SCHEMA).await.unwrap();
    let fake = FakeModel::start(Scenario::named(scenario)).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("refunds.md"), include_str!("../../agent/tests/drafting/refunds.md")).unwrap();
    std::fs::write(dir.path().join("legacy.md"), include_str!("../../agent/tests/drafting/legacy-status.md")).unwrap();
    Setup { db, fake, dir }
}

impl Setup {
    /// `cutover draft` in the temporary directory, with the model named by `env`.
    async fn draft(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let url = self.db.url();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cutover"));
        cmd.arg("draft").args(["--database", &url, "--dev-url", admin_url()]).args(args);
        cmd.current_dir(self.dir.path());
        for var in [
            "CUTOVER_LLM_PROVIDER",
            "CUTOVER_LLM_URL",
            "CUTOVER_LLM_MODEL",
            "CUTOVER_LLM_API_KEY",
            "CUTOVER_DATABASE_URL",
            "CUTOVER_DEV_URL",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        cmd.output().await.unwrap()
    }

    fn model_env(&self, provider: &'static str) -> Vec<(&'static str, String)> {
        vec![
            ("CUTOVER_LLM_PROVIDER", provider.to_string()),
            ("CUTOVER_LLM_URL", self.fake.url()),
            ("CUTOVER_LLM_MODEL", "fake-model".to_string()),
            ("CUTOVER_LLM_API_KEY", API_KEY.to_string()),
        ]
    }
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn a_proposal_is_printed() {
    let s = setup("good").await;
    let env = s.model_env("openai");
    let out = s.draft(&["--issue", "refunds.md"], &env_refs(&env)).await;
    assert_eq!(text(&out.stderr), "drafted with 1 answer(s), 1850 input and 420 output tokens\n");
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!(text(&out.stdout));
}

#[tokio::test]
async fn json_and_a_destructive_proposal_exit_1() {
    let s = setup("destructive").await;
    let env = s.model_env("anthropic");
    let out = s.draft(&["--issue", "legacy.md", "--format", "json"], &env_refs(&env)).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["destructive"], true);
    assert_eq!(json["answer"]["ddl"], "ALTER TABLE orders DROP COLUMN legacy_status;\n");
    assert_eq!(json["plan"]["phases"][0]["name"], "contract");
    assert_eq!(json["usage"], serde_json::json!({ "input_tokens": 1700, "output_tokens": 180 }));
}

#[tokio::test]
async fn what_the_drafter_needs_and_bad_settings_exit_2() {
    let s = setup("good").await;
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[],
            "error: no model for the drafter: set CUTOVER_LLM_PROVIDER (anthropic or openai) and CUTOVER_LLM_MODEL, with CUTOVER_LLM_API_KEY (and CUTOVER_LLM_URL for another server), or [llm] provider and model in cutover.toml\n",
        ),
        (
            &[("CUTOVER_LLM_PROVIDER", "gemini"), ("CUTOVER_LLM_MODEL", "m")],
            "error: the LLM provider (CUTOVER_LLM_PROVIDER or [llm] provider) is \"gemini\", not anthropic or openai\n",
        ),
        (
            &[("CUTOVER_LLM_PROVIDER", "anthropic"), ("CUTOVER_LLM_MODEL", "m")],
            "error: the LLM provider is anthropic but CUTOVER_LLM_API_KEY is not set (the key comes only from the environment)\n",
        ),
        (
            &[("CUTOVER_LLM_PROVIDER", "openai")],
            "error: the LLM provider is openai but no model is named: set CUTOVER_LLM_MODEL (or [llm] model)\n",
        ),
        (
            &[("CUTOVER_LLM_URL", "http://127.0.0.1:1")],
            "error: the drafter's model is partly configured (a model, URL or API key) but no provider is named: set CUTOVER_LLM_PROVIDER (or [llm] provider) to anthropic or openai\n",
        ),
    ];
    for (env, expected) in cases {
        let out = s.draft(&["--issue", "refunds.md"], env).await;
        assert_eq!((out.status.code(), text(&out.stderr).as_str()), (Some(2), *expected));
    }
    let env = s.model_env("openai");
    let out = s.draft(&["--issue", "missing.md"], &env_refs(&env)).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: could not read missing.md: "), "{}", text(&out.stderr));
    // A wrong key is refused by the API and never printed.
    let mut env = s.model_env("anthropic");
    env[3].1 = "sk-not-the-key".into();
    let out = s.draft(&["--issue", "refunds.md"], &env_refs(&env)).await;
    assert_eq!(
        text(&out.stderr),
        "error: no proposal for refunds.md: the model's API refused the credentials (HTTP 401): invalid x-api-key\n"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn a_slow_model_runs_into_the_configured_timeout() {
    let s = setup("slow").await;
    std::fs::write(
        s.dir.path().join("cutover.toml"),
        "[llm]\nprovider = \"openai\"\nmodel = \"fake-model\"\ntimeout_secs = 1\n",
    )
    .unwrap();
    let url = s.fake.url();
    let out = s.draft(&["--issue", "refunds.md"], &[("CUTOVER_LLM_URL", &url), ("CUTOVER_LLM_API_KEY", API_KEY)]).await;
    assert_eq!(text(&out.stderr), "error: no proposal for refunds.md: the model did not answer within 1 s\n");
    assert_eq!(out.status.code(), Some(2));
    // The key is read only from the environment.
    std::fs::write(s.dir.path().join("cutover.toml"), "[llm]\nprovider = \"openai\"\napi_key = \"sk-1\"\n").unwrap();
    let out = s.draft(&["--issue", "refunds.md"], &[]).await;
    assert_eq!(
        text(&out.stderr),
        "error: cutover.toml:3: unknown field `api_key`, expected one of `provider`, `url`, `model`, `timeout_secs`, `attempts`, `token_budget`, `budget_secs`\n"
    );
    assert_eq!(out.status.code(), Some(2));
}
