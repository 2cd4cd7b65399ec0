//! Connection settings, read from the environment variables AWS's own tools use, so one set of
//! variables serves the AWS CLI and dailies alike.

use crate::Error;
use crate::endpoint::Endpoint;

#[derive(Clone)]
pub struct Config {
    /// `http(s)://host[:port]`, e.g. `http://127.0.0.1:9000` or
    /// `https://s3.eu-west-1.amazonaws.com`.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    pub bucket: String,
    /// `endpoint/bucket/key` rather than `bucket.endpoint/key`: what MinIO and moto expect.
    pub path_style: bool,
}

/// The secret and the session token are never printed.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("bucket", &self.bucket)
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl Config {
    /// As AWS tools do: `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (default
    /// `https://s3.{region}.amazonaws.com`), `AWS_REGION` or `AWS_DEFAULT_REGION` (default
    /// `us-east-1`), `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (required),
    /// `AWS_SESSION_TOKEN` (optional). Path style is used with a custom endpoint (MinIO, moto)
    /// unless `AWS_S3_FORCE_PATH_STYLE=false`; `AWS_S3_FORCE_PATH_STYLE=true` forces it on AWS.
    pub fn from_env(bucket: &str) -> Result<Config, Error> {
        Config::from_lookup(bucket, |name| std::env::var(name).ok())
    }

    fn from_lookup(bucket: &str, var: impl Fn(&str) -> Option<String>) -> Result<Config, Error> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let required = |name: &str| {
            var(name)
                .ok_or_else(|| Error::Config(format!("the environment variable {name} is not set")))
        };
        if bucket.is_empty() {
            return Err(Error::Config("the bucket name is empty".into()));
        }
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let custom = var("AWS_ENDPOINT_URL_S3")
            .map(|v| ("AWS_ENDPOINT_URL_S3", v))
            .or_else(|| var("AWS_ENDPOINT_URL").map(|v| ("AWS_ENDPOINT_URL", v)));
        let endpoint = match &custom {
            Some((name, url)) => {
                Endpoint::parse(url).map_err(|e| Error::Config(format!("{name}: {e}")))?;
                url.trim().to_string()
            }
            None => format!("https://s3.{region}.amazonaws.com"),
        };
        let path_style = match var("AWS_S3_FORCE_PATH_STYLE").map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if v == "true" || v == "1" => true,
            Some(v) if v == "false" || v == "0" => false,
            Some(v) => {
                return Err(Error::Config(format!(
                    "AWS_S3_FORCE_PATH_STYLE must be true or false, not {v:?}"
                )));
            }
            None => custom.is_some(),
        };
        Ok(Config {
            endpoint,
            region,
            access_key: required("AWS_ACCESS_KEY_ID")?,
            secret_key: required("AWS_SECRET_ACCESS_KEY")?,
            session_token: var("AWS_SESSION_TOKEN"),
            bucket: bucket.to_string(),
            path_style,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup("b", |k| map.get(k).cloned())
    }

    const KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")];

    #[test]
    fn aws_defaults() {
        let c = from(&KEYS).unwrap();
        assert_eq!(c.endpoint, "https://s3.us-east-1.amazonaws.com");
        assert_eq!(c.region, "us-east-1");
        assert!(!c.path_style);
        assert_eq!(c.session_token, None);
        let c = from(&[KEYS[0], KEYS[1], ("AWS_DEFAULT_REGION", "eu-west-1")]).unwrap();
        assert_eq!(c.endpoint, "https://s3.eu-west-1.amazonaws.com");
        let c = from(&[
            KEYS[0],
            KEYS[1],
            ("AWS_DEFAULT_REGION", "x"),
            ("AWS_REGION", "y"),
        ])
        .unwrap();
        assert_eq!(c.region, "y");
    }

    #[test]
    fn custom_endpoint_means_path_style() {
        let c = from(&[
            KEYS[0],
            KEYS[1],
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "http://127.0.0.1:9000");
        assert!(c.path_style);
        let c = from(&[
            KEYS[0],
            KEYS[1],
            ("AWS_ENDPOINT_URL", "http://a:1"),
            ("AWS_ENDPOINT_URL_S3", "http://b:2"),
            ("AWS_S3_FORCE_PATH_STYLE", "false"),
            ("AWS_SESSION_TOKEN", "T"),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "http://b:2");
        assert!(!c.path_style);
        assert_eq!(c.session_token.as_deref(), Some("T"));
    }

    #[test]
    fn errors_name_the_variable_and_hide_the_secret() {
        let e = from(&[KEYS[0]]).unwrap_err().to_string();
        assert!(e.contains("AWS_SECRET_ACCESS_KEY"), "{e}");
        let e = from(&[KEYS[1]]).unwrap_err().to_string();
        assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
        let e = from(&[KEYS[0], KEYS[1], ("AWS_ENDPOINT_URL_S3", "minio:9000")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("AWS_ENDPOINT_URL_S3"), "{e}");
        let e = from(&[KEYS[0], KEYS[1], ("AWS_S3_FORCE_PATH_STYLE", "maybe")]).unwrap_err();
        assert!(e.to_string().contains("AWS_S3_FORCE_PATH_STYLE"));
        let c = from(&[KEYS[0], ("AWS_SECRET_ACCESS_KEY", "very-secret")]).unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
