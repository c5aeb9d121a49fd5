//! TLS to PostgreSQL servers, with libpq's meaning of `sslmode` and `sslrootcert`, so a
//! connection string that works with `psql` works with Cutover.
//!
//! | sslmode | encrypted | server certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `allow`, `prefer` (the default) | when the server offers TLS and the handshake succeeds | no |
//! | `require` | always | no (against `sslrootcert` when one is given, as libpq does) |
//! | `verify-ca` | always | signed by a trusted root |
//! | `verify-full` | always | signed by a trusted root and issued for the host name |
//!
//! Trusted roots come from `sslrootcert=PATH` (PEM), `sslrootcert=system` (the operating
//! system's certificate authorities) or, as with libpq, `~/.postgresql/root.crt`.
//! `PGSSLMODE` and `PGSSLROOTCERT` apply when the connection string does not say.
//! Unix-socket connections are never encrypted (the server does not offer TLS on them).

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<SslMode, String> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ));
            }
        })
    }

    /// Whether the connection must be encrypted.
    pub fn requires_tls(self) -> bool {
        matches!(self, SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Where trusted root certificates come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCert {
    File(PathBuf),
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: SslMode,
    pub root_cert: Option<RootCert>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions { mode: SslMode::Prefer, root_cert: None }
    }
}

/// Parameters that are read here, not by the driver (which knows neither `verify-*` nor
/// root certificates).
const TLS_KEYS: [&str; 2] = ["sslmode", "sslrootcert"];
/// libpq parameters for client certificates and revocation lists, which Cutover does not
/// support yet: named in an error rather than ignored.
const UNSUPPORTED_KEYS: [&str; 5] = ["sslcert", "sslkey", "sslpassword", "sslcrl", "sslcrldir"];

/// Splits the TLS parameters out of a connection string (URL or key=value form), with
/// `PGSSLMODE` / `PGSSLROOTCERT` from `env` where the string does not set them. Returns
/// the connection string without them, for the driver.
pub fn take_options(connection: &str, env: impl Fn(&str) -> Option<String>) -> Result<(String, TlsOptions), String> {
    let (rest, pairs) = if connection.starts_with("postgres://") || connection.starts_with("postgresql://") {
        split_url(connection)
    } else {
        split_key_values(connection)?
    };
    let (mut mode, mut root) = (None, None);
    for (key, value) in pairs {
        match key.as_str() {
            "sslmode" => mode = Some(value),
            "sslrootcert" => root = Some(value),
            other => return Err(format!("{other} (TLS client certificates) is not supported yet")),
        }
    }
    let mode = mode.or_else(|| env("PGSSLMODE"));
    let root = root.or_else(|| env("PGSSLROOTCERT"));
    let mode = match mode.as_deref() {
        Some(m) => SslMode::parse(m)?,
        None => SslMode::Prefer,
    };
    let root_cert = root.filter(|r| !r.is_empty()).map(|r| match r.as_str() {
        "system" => RootCert::System,
        path => RootCert::File(PathBuf::from(path)),
    });
    Ok((rest, TlsOptions { mode, root_cert }))
}

fn split_url(url: &str) -> (String, Vec<(String, String)>) {
    let Some((head, query)) = url.split_once('?') else { return (url.to_string(), Vec::new()) };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        let key = percent_decode(key);
        if TLS_KEYS.contains(&key.as_str()) || UNSUPPORTED_KEYS.contains(&key.as_str()) {
            taken.push((key, percent_decode(value)));
        } else {
            kept.push(param);
        }
    }
    let rest = if kept.is_empty() { head.to_string() } else { format!("{head}?{}", kept.join("&")) };
    (rest, taken)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `key=value` pairs separated by spaces; a value may be single-quoted with `\` escapes.
fn split_key_values(text: &str) -> Result<(String, Vec<(String, String)>), String> {
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i == chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i == chars.len() || chars[i] != '=' {
            // Not a pair: leave it for the driver to reject with its own message.
            kept.push(chars[start..i].iter().collect::<String>());
            continue;
        }
        i += 1;
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("a quoted value in the connection string is not closed".into()),
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some('\\') if i + 1 < chars.len() => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    Some(&c) => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if TLS_KEYS.contains(&key.as_str()) || UNSUPPORTED_KEYS.contains(&key.as_str()) {
            taken.push((key, value));
        } else {
            kept.push(chars[start..i].iter().collect::<String>());
        }
    }
    Ok((kept.join(" "), taken))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration for `options` (not used for `disable`).
pub fn client_config(options: &TlsOptions) -> Result<ClientConfig, String> {
    let provider = provider();
    let verifier: Arc<dyn ServerCertVerifier> = match (options.mode, &options.root_cert) {
        (SslMode::VerifyFull, root) => webpki(root, options.mode, &provider)?,
        (SslMode::VerifyCa, root) => Arc::new(AnyHostName(webpki(root, options.mode, &provider)?)),
        // libpq: with a root certificate given, `require` checks the chain like verify-ca.
        (SslMode::Require, Some(root)) => Arc::new(AnyHostName(webpki(&Some(root.clone()), options.mode, &provider)?)),
        _ => Arc::new(Unverified(provider.clone())),
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

fn webpki(
    root: &Option<RootCert>,
    mode: SslMode,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let mode_name = match mode {
        SslMode::VerifyFull => "verify-full",
        SslMode::VerifyCa => "verify-ca",
        _ => "require",
    };
    let mut store = RootCertStore::empty();
    let default_file = crate::environment::current().home.as_ref().map(|h| h.join(".postgresql/root.crt"));
    let root = match root {
        Some(root) => root.clone(),
        None => match default_file.filter(|f| f.is_file()) {
            Some(file) => RootCert::File(file),
            None => {
                return Err(format!(
                    "sslmode={mode_name} needs the server's root certificate: add sslrootcert=PATH to the connection string, or sslrootcert=system to trust the system's certificate authorities"
                ));
            }
        },
    };
    match &root {
        RootCert::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("could not read the root certificate {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!("the root certificate file {} holds no PEM certificate", path.display()));
            }
            for cert in certs {
                store.add(cert).map_err(|e| format!("the root certificate {} is not usable: {e}", path.display()))?;
            }
        }
        RootCert::System => {
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err("sslrootcert=system: no certificate authorities were found on this system".into());
            }
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| format!("TLS set-up failed: {e}"))
}

/// Checks the chain and the handshake, but not the host name (`verify-ca`).
#[derive(Debug)]
struct AnyHostName(Arc<dyn ServerCertVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The chain is checked before the name, so a name error means the chain is good.
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Encrypts without checking who the server is (`prefer`, `require`), as libpq does.
#[derive(Debug)]
struct Unverified(Arc<CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn url_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, tls) = take_options(
            "postgresql://u@db/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem",
            no_env,
        )
        .unwrap();
        assert_eq!(rest, "postgresql://u@db/app?application_name=x");
        assert_eq!(
            tls,
            TlsOptions { mode: SslMode::VerifyFull, root_cert: Some(RootCert::File("/etc/ca.pem".into())) }
        );
        let (rest, tls) = take_options("postgres://db/app?sslmode=disable", no_env).unwrap();
        assert_eq!((rest.as_str(), tls.mode), ("postgres://db/app", SslMode::Disable));
        let (rest, tls) = take_options("postgres://db/app", no_env).unwrap();
        assert_eq!((rest.as_str(), tls), ("postgres://db/app", TlsOptions::default()));
    }

    #[test]
    fn key_value_parameters_are_taken_out_with_quoting() {
        let (rest, tls) =
            take_options("host=db sslmode = 'verify-ca' password='a b\\'c' sslrootcert=system dbname=x", no_env)
                .unwrap();
        assert_eq!(rest, "host=db password='a b\\'c' dbname=x");
        assert_eq!(tls, TlsOptions { mode: SslMode::VerifyCa, root_cert: Some(RootCert::System) });
    }

    #[test]
    fn environment_applies_only_where_the_string_is_silent() {
        let env = |k: &str| match k {
            "PGSSLMODE" => Some("require".to_string()),
            "PGSSLROOTCERT" => Some("/ca.pem".to_string()),
            _ => None,
        };
        let (_, tls) = take_options("postgres://db/app", env).unwrap();
        assert_eq!(tls, TlsOptions { mode: SslMode::Require, root_cert: Some(RootCert::File("/ca.pem".into())) });
        let (_, tls) = take_options("postgres://db/app?sslmode=disable", env).unwrap();
        assert_eq!(tls.mode, SslMode::Disable);
    }

    #[test]
    fn an_unknown_mode_is_one_clear_sentence() {
        assert_eq!(
            take_options("postgres://db/app?sslmode=on", no_env).unwrap_err(),
            "sslmode \"on\" is not one of disable, allow, prefer, require, verify-ca, verify-full"
        );
    }

    #[test]
    fn client_certificate_parameters_are_named() {
        let refused = "sslcert (TLS client certificates) is not supported yet";
        assert_eq!(take_options("postgres://db/app?sslcert=/c.pem", no_env).unwrap_err(), refused);
        assert_eq!(
            take_options("host=db sslkey=/k.pem", no_env).unwrap_err(),
            "sslkey (TLS client certificates) is not supported yet"
        );
        assert!(take_options("postgres://db/app?sslmode=require", no_env).is_ok());
        // A password that merely contains the text is not a parameter.
        assert!(take_options("host=db password='x sslkey=1'", no_env).is_ok());
    }
}
