//! Credentials for Linear's API: a personal API key, an OAuth access token, or the OAuth
//! app's client credentials, exchanged for an app actor token (`grant_type=client_credentials`,
//! valid 30 days, fetched again when Linear refuses it; see `client.rs`).

use std::fmt;

/// How requests authenticate. Linear takes an API key as the bare `Authorization` value and an
/// OAuth token with the `Bearer` scheme; sending a key with `Bearer` is rejected.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    ApiKey(String),
    OAuthToken(String),
    /// The OAuth app's client id and secret.
    App {
        client_id: String,
        client_secret: String,
    },
}

impl Credentials {
    /// The `Authorization` header value, for the credentials that are sent as they are.
    pub fn header_value(&self) -> Option<String> {
        match self {
            Credentials::ApiKey(key) => Some(key.clone()),
            Credentials::OAuthToken(token) => Some(format!("Bearer {token}")),
            Credentials::App { .. } => None,
        }
    }

    /// Which kind of install this is; API-key installs have no Agent API sessions.
    pub fn is_oauth(&self) -> bool {
        !matches!(self, Credentials::ApiKey(_))
    }
}

/// Never prints the secret itself.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiKey(_) => f.write_str("Credentials::ApiKey(<redacted>)"),
            Credentials::OAuthToken(_) => f.write_str("Credentials::OAuthToken(<redacted>)"),
            Credentials::App { client_id, .. } => write!(f, "Credentials::App({client_id}, <redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms_follow_linear() {
        assert_eq!(Credentials::ApiKey("lin_api_x".into()).header_value().unwrap(), "lin_api_x");
        assert_eq!(Credentials::OAuthToken("tok".into()).header_value().unwrap(), "Bearer tok");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!("{:?}", Credentials::ApiKey("lin_api_secret".into()));
        assert!(!shown.contains("secret"), "{shown}");
        let app = Credentials::App { client_id: "id".into(), client_secret: "s3cr3t".into() };
        assert!(!format!("{app:?}").contains("s3cr3t"));
    }
}
