//! A small blocking client of the HTTP API, for the CLI's `--server URL` mode.
//!
//! Why blocking (ureq) and not an async client: a CLI command makes one or two requests and
//! exits; a blocking client keeps the commands plain functions. Errors come back as the API's
//! `{"error": {"code", "message"}}`, so the CLI prints the same message the service sent.

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// The service answered with an error.
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The service could not be reached or answered something that is not the API.
    #[error("{0}")]
    Transport(String),
}

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// Percent-encode one path segment or query value.
pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Client {
    /// `base`: `http://127.0.0.1:7878` (a trailing `/` is ignored).
    pub fn new(base: &str, token: Option<String>) -> Client {
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .build();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    fn answer<T: DeserializeOwned>(
        &self,
        result: Result<ureq::Response, ureq::Error>,
    ) -> Result<T, ClientError> {
        match result {
            Ok(resp) => resp.into_json::<T>().map_err(|e| {
                ClientError::Transport(format!("{}: unexpected answer: {e}", self.base))
            }),
            Err(ureq::Error::Status(status, resp)) => {
                let body: Value = resp.into_json().unwrap_or(Value::Null);
                let code = body["error"]["code"]
                    .as_str()
                    .unwrap_or("error")
                    .to_string();
                let message = body["error"]["message"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| format!("the service answered HTTP {status}"));
                Err(ClientError::Api {
                    status,
                    code,
                    message,
                })
            }
            Err(ureq::Error::Transport(t)) => Err(ClientError::Transport(format!(
                "cannot reach chainsched serve at {}: {t}",
                self.base
            ))),
        }
    }

    pub fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, ClientError> {
        let result = self.agent.get(&self.url(path_and_query)).call();
        self.answer(result)
    }

    pub fn post<T: DeserializeOwned>(&self, path: &str, body: &Value) -> Result<T, ClientError> {
        let mut req = self.agent.post(&self.url(path));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let result = req.send_json(body.clone());
        self.answer(result)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_reserved_characters() {
        assert_eq!(super::encode("RUN_CHAIN$_C1"), "RUN_CHAIN%24_C1");
        assert_eq!(super::encode("a b/c"), "a%20b%2Fc");
    }
}
