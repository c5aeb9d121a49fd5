//! Credentials for Linear's API: a personal API key or an OAuth access token.

use std::fmt;

/// How requests authenticate. Linear takes an API key as the bare `Authorization` value and an
/// OAuth token with the `Bearer` scheme; sending a key with `Bearer` is rejected.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    ApiKey(String),
    OAuthToken(String),
}

impl Credentials {
    /// The `Authorization` header value.
    pub fn header_value(&self) -> String {
        match self {
            Credentials::ApiKey(key) => key.clone(),
            Credentials::OAuthToken(token) => format!("Bearer {token}"),
        }
    }

    /// Which kind of install this is; API-key installs have no Agent API sessions.
    pub fn is_oauth(&self) -> bool {
        matches!(self, Credentials::OAuthToken(_))
    }
}

/// Never prints the secret itself.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::ApiKey(_) => f.write_str("Credentials::ApiKey(<redacted>)"),
            Credentials::OAuthToken(_) => f.write_str("Credentials::OAuthToken(<redacted>)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_forms_follow_linear() {
        assert_eq!(Credentials::ApiKey("lin_api_x".into()).header_value(), "lin_api_x");
        assert_eq!(Credentials::OAuthToken("tok".into()).header_value(), "Bearer tok");
    }

    #[test]
    fn debug_redacts_the_secret() {
        let shown = format!("{:?}", Credentials::ApiKey("lin_api_secret".into()));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
