//! The endpoint URL taken apart once: scheme, host, and the port only when it is not the
//! scheme's default, because the signed `host` header must be exactly what is sent.

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub https: bool,
    /// Lower case; an IPv6 address keeps its brackets.
    pub host: String,
    /// `None` for the scheme's default port.
    pub port: Option<u16>,
}

impl Endpoint {
    /// `http(s)://host[:port]` with at most a trailing `/`; no path, query or credentials.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("endpoint {url:?} {why}");
        let lower = url.trim().to_ascii_lowercase();
        let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(bad("must start with http:// or https://"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() {
            return Err(bad("has no host"));
        }
        if authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad(
                "must be only scheme, host and port (no path, query or user)",
            ));
        }
        let (host, port) = if authority.starts_with('[') {
            let close = authority
                .find(']')
                .ok_or_else(|| bad("has an unclosed IPv6 bracket"))?;
            let after = &authority[close + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("has characters after the IPv6 address")),
            };
            (&authority[..=close], port)
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() || host == "[]" {
            return Err(bad("has no host"));
        }
        let port = match port {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or_else(|| bad("has an invalid port"))?,
            ),
            None => None,
        };
        let default = if https { 443 } else { 80 };
        Ok(Endpoint {
            https,
            host: host.to_string(),
            port: port.filter(|&p| p != default),
        })
    }

    /// `host[:port]`, with the bucket in front for virtual-hosted style.
    pub(crate) fn authority(&self, bucket: Option<&str>) -> String {
        let mut out = String::new();
        if let Some(b) = bucket {
            out.push_str(b);
            out.push('.');
        }
        out.push_str(&self.host);
        if let Some(p) = self.port {
            out.push_str(&format!(":{p}"));
        }
        out
    }

    pub(crate) fn scheme(&self) -> &'static str {
        if self.https { "https" } else { "http" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(https: bool, host: &str, port: Option<u16>) -> Endpoint {
        Endpoint {
            https,
            host: host.into(),
            port,
        }
    }

    #[test]
    fn parses_endpoints() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9000").unwrap(),
            ep(false, "127.0.0.1", Some(9000))
        );
        assert_eq!(
            Endpoint::parse("https://s3.eu-west-1.amazonaws.com/").unwrap(),
            ep(true, "s3.eu-west-1.amazonaws.com", None)
        );
        assert_eq!(
            Endpoint::parse("HTTP://Minio:80").unwrap(),
            ep(false, "minio", None)
        );
        assert_eq!(
            Endpoint::parse("https://minio:80").unwrap(),
            ep(true, "minio", Some(80))
        );
        assert_eq!(
            Endpoint::parse("http://[::1]:9000").unwrap(),
            ep(false, "[::1]", Some(9000))
        );
        assert_eq!(
            Endpoint::parse("http://[::1]").unwrap(),
            ep(false, "[::1]", None)
        );
    }

    #[test]
    fn refuses_what_it_cannot_sign_for() {
        for bad in [
            "127.0.0.1:9000",
            "ftp://x",
            "http://",
            "http://:9000",
            "http://h:port",
            "http://h:0",
            "http://h:70000",
            "http://h/path",
            "http://user:pw@h",
            "http://h?x=1",
            "http://[::1",
            "http://[::1]x",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authority_has_port_only_when_not_default() {
        let e = ep(false, "127.0.0.1", Some(9000));
        assert_eq!(e.authority(None), "127.0.0.1:9000");
        assert_eq!(
            ep(true, "s3.amazonaws.com", None).authority(Some("b")),
            "b.s3.amazonaws.com"
        );
    }
}
