//! AWS Signature Version 4: canonical request, string to sign, signing key, and the two ways a
//! signature travels (the `Authorization` header, or the query string of a presigned URL).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::time::UtcTime;

pub(crate) const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// SHA-256 of the empty string, the payload hash of every request without a body.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

pub(crate) struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// What a signature covers: the request as the server will see it.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    /// Already URI-encoded, as sent.
    pub path: &'a str,
    /// Raw (not yet encoded) query parameters, any order.
    pub query: &'a [(String, String)],
    /// Headers to sign, names in any case; `host` must be among them.
    pub headers: &'a [(String, String)],
    pub payload_sha256: &'a str,
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// AWS URI encoding: unreserved characters kept, every other byte as `%XX` (upper case); `/`
/// kept only when `keep_slash` (object key paths), never in query strings.
pub(crate) fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Encoded and sorted `k=v&…`; the same string is used in the URL, so what is signed is sent.
pub(crate) fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Returns the canonical request and the `SignedHeaders` list.
pub(crate) fn canonical_request(req: &Request) -> (String, String) {
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.split_whitespace().collect::<Vec<_>>().join(" "),
            )
        })
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.path,
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        req.payload_sha256
    );
    (canonical, signed_headers)
}

pub(crate) fn scope(time: &UtcTime, region: &str, service: &str) -> String {
    format!("{}/{region}/{service}/aws4_request", time.date())
}

pub(crate) fn signature(
    secret_key: &str,
    time: &UtcTime,
    region: &str,
    service: &str,
    canonical_request: &str,
) -> String {
    let string_to_sign = format!(
        "{ALGORITHM}\n{}\n{}\n{}",
        time.amz_date(),
        scope(time, region, service),
        sha256_hex(canonical_request.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{secret_key}").as_bytes(),
        time.date().as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    hex::encode(hmac(&k_signing, string_to_sign.as_bytes()))
}

/// The `Authorization` header value for `req` (whose headers must already include
/// `x-amz-date`, and `x-amz-security-token` when there is one).
pub(crate) fn authorization(
    creds: &Credentials,
    time: &UtcTime,
    region: &str,
    service: &str,
    req: &Request,
) -> String {
    let (canonical, signed_headers) = canonical_request(req);
    let sig = signature(creds.secret_key, time, region, service, &canonical);
    format!(
        "{ALGORITHM} Credential={}/{}, SignedHeaders={signed_headers}, Signature={sig}",
        creds.access_key,
        scope(time, region, service)
    )
}

/// The query string of a presigned GET: `host` is the only signed header and the payload is
/// unsigned, as S3 expects of a URL anyone can fetch.
pub(crate) fn presigned_query(
    creds: &Credentials,
    time: &UtcTime,
    region: &str,
    path: &str,
    host: &str,
    expires_secs: u64,
) -> String {
    let mut query = vec![
        ("X-Amz-Algorithm".to_string(), ALGORITHM.to_string()),
        (
            "X-Amz-Credential".to_string(),
            format!("{}/{}", creds.access_key, scope(time, region, "s3")),
        ),
        ("X-Amz-Date".to_string(), time.amz_date()),
        ("X-Amz-Expires".to_string(), expires_secs.to_string()),
        ("X-Amz-SignedHeaders".to_string(), "host".to_string()),
    ];
    if let Some(token) = creds.session_token {
        query.push(("X-Amz-Security-Token".to_string(), token.to_string()));
    }
    let headers = [("host".to_string(), host.to_string())];
    let req = Request {
        method: "GET",
        path,
        query: &query,
        headers: &headers,
        payload_sha256: "UNSIGNED-PAYLOAD",
    };
    let (canonical, _) = canonical_request(&req);
    let sig = signature(creds.secret_key, time, region, "s3", &canonical);
    format!("{}&X-Amz-Signature={sig}", canonical_query(&query))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_follows_aws_rules() {
        assert_eq!(
            uri_encode("a b+c%d=e/f~g_h.i-j", true),
            "a%20b%2Bc%25d%3De/f~g_h.i-j"
        );
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
        assert_eq!(uri_encode("é", true), "%C3%A9");
        assert_eq!(uri_encode("*", true), "%2A");
    }

    #[test]
    fn query_is_encoded_and_sorted() {
        let q = vec![
            ("prefix".to_string(), "a b/".to_string()),
            ("list-type".to_string(), "2".to_string()),
            ("uploads".to_string(), String::new()),
        ];
        assert_eq!(canonical_query(&q), "list-type=2&prefix=a%20b%2F&uploads=");
    }

    /// AWS's published SigV4 test suite, "get-vanilla".
    #[test]
    fn get_vanilla_test_vector() {
        let time = UtcTime::parse_amz("20150830T123600Z").unwrap();
        let headers = [
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("X-Amz-Date".to_string(), time.amz_date()),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_sha256: EMPTY_SHA256,
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(
            canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(signed, "host;x-amz-date");
        assert_eq!(
            sha256_hex(canonical.as_bytes()),
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        let creds = Credentials {
            access_key: "AKIDEXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
        };
        assert_eq!(
            authorization(&creds, &time, "us-east-1", "service", &req),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    /// The presigned URL example of the S3 documentation ("Authenticating Requests: Using
    /// Query Parameters").
    #[test]
    fn s3_presigned_url_example() {
        let time = UtcTime::parse_amz("20130524T000000Z").unwrap();
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            session_token: None,
        };
        let query = presigned_query(
            &creds,
            &time,
            "us-east-1",
            "/test.txt",
            "examplebucket.s3.amazonaws.com",
            86400,
        );
        assert_eq!(
            query,
            "X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request\
             &X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        );
    }
}
