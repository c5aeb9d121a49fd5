//! Credentials for GitHub's REST API: a token (`GITHUB_TOKEN`: a personal access token or an
//! installation token made elsewhere), or a GitHub App (`GITHUB_APP_ID` +
//! `GITHUB_APP_PRIVATE_KEY`): a JWT signed RS256 with the app's key is exchanged for the
//! installation access token of the repository's installation (valid one hour; the client
//! caches it until five minutes before it expires).

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use crate::error::GitHubError;

/// How requests authenticate.
#[derive(Clone)]
pub enum Credentials {
    Token(String),
    App { app_id: String, key: AppKey },
}

impl Credentials {
    /// A GitHub App from its id and its private key (PEM, PKCS#1 as GitHub issues it, or
    /// PKCS#8). The key is checked here, so a bad key fails at start-up.
    pub fn app(app_id: &str, private_key_pem: &str) -> Result<Credentials, GitHubError> {
        let app_id = app_id.trim();
        if app_id.is_empty() || !app_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GitHubError::Credentials("GITHUB_APP_ID must be the app's numeric id".into()));
        }
        Ok(Credentials::App { app_id: app_id.to_string(), key: AppKey::from_pem(private_key_pem)? })
    }
}

/// Never prints the token or the key.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Token(_) => f.write_str("Credentials::Token(<redacted>)"),
            Credentials::App { app_id, .. } => write!(f, "Credentials::App({app_id}, <redacted key>)"),
        }
    }
}

/// A GitHub App's RSA private key.
#[derive(Clone)]
pub struct AppKey(Arc<RsaKeyPair>);

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKey(<redacted>)")
    }
}

impl AppKey {
    /// Reads `-----BEGIN RSA PRIVATE KEY-----` (PKCS#1) or `-----BEGIN PRIVATE KEY-----`
    /// (PKCS#8). Environment variables often carry the PEM with literal `\n`: those are
    /// turned back into line breaks.
    pub fn from_pem(pem_text: &str) -> Result<AppKey, GitHubError> {
        let text = pem_text.trim().replace("\\n", "\n");
        let parsed = pem::parse(text.as_bytes())
            .map_err(|_| GitHubError::Credentials("GITHUB_APP_PRIVATE_KEY is not a PEM private key".into()))?;
        let key = match parsed.tag() {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(parsed.contents()),
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(parsed.contents()),
            other => {
                return Err(GitHubError::Credentials(format!(
                    "GITHUB_APP_PRIVATE_KEY is a PEM \"{other}\", not an RSA private key"
                )));
            }
        }
        .map_err(|e| GitHubError::Credentials(format!("GITHUB_APP_PRIVATE_KEY was refused: {e}")))?;
        Ok(AppKey(Arc::new(key)))
    }

    /// The public key (DER `RSAPublicKey`), for a server that verifies the app's JWTs.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.0.public().as_ref().to_vec()
    }

    /// The app's JWT: issued 60 s in the past (clock drift, as GitHub advises), valid 9
    /// minutes (GitHub allows at most 10), `iss` the app id.
    pub fn jwt(&self, app_id: &str) -> Result<String, GitHubError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({ "iat": now.saturating_sub(60), "exp": now + 540, "iss": app_id });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let mut signature = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| GitHubError::Credentials("could not sign the app's JWT".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let shown = format!("{:?}", Credentials::Token("ghp_s3cr3t".into()));
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn bad_keys_and_ids_are_refused_with_a_sentence() {
        let err = Credentials::app("12", "not a key").unwrap_err().to_string();
        assert_eq!(err, "GitHub credentials are unusable: GITHUB_APP_PRIVATE_KEY is not a PEM private key");
        let err = Credentials::app("abc", "x").unwrap_err().to_string();
        assert_eq!(err, "GitHub credentials are unusable: GITHUB_APP_ID must be the app's numeric id");
        let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let err = Credentials::app("12", cert).unwrap_err().to_string();
        assert!(err.contains("is a PEM \"CERTIFICATE\", not an RSA private key"), "{err}");
    }
}
