//! The swarm token: every WebSocket and chunk request carries it as `Authorization: Bearer`.

use axum::http::{HeaderMap, StatusCode, header};

/// The shared secret of one swarm.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }

    pub fn header_value(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// 401 without a token, 403 with a wrong one.
    pub fn check(&self, headers: &HeaderMap) -> Result<(), StatusCode> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        if constant_time_eq(given.as_bytes(), self.0.as_bytes()) {
            Ok(())
        } else {
            Err(StatusCode::FORBIDDEN)
        }
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
