//! The client against a real S3 imitation: moto's server (installed by `scripts/moto.sh`; found
//! through `DAILIES_TEST_MOTO` or in `$HOME/.cache/dailies-moto`). A missing moto fails the
//! tests: they are not skipped.
//!
//! moto accepts any credentials and checks no signature unless IAM authentication is switched
//! on, so `signatures_are_checked_by_moto` switches it on (with a user made through moto's IAM)
//! and runs the calls again: moto then recomputes every signature with botocore. moto never
//! checks presigned URLs (neither signature nor expiry), so presigned URLs are instead compared
//! with the ones botocore makes for the same request and time.

use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use dailies_s3::{Client, Config, Error, MIN_PART_SIZE};

const MIB: usize = 1024 * 1024;

fn moto_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAILIES_TEST_MOTO") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "DAILIES_TEST_MOTO={} is not a file; run scripts/moto.sh to install moto",
            path.display()
        );
        return path;
    }
    let home = std::env::var_os("HOME").expect("HOME is not set");
    let path = PathBuf::from(home).join(".cache/dailies-moto/bin/moto_server");
    assert!(
        path.is_file(),
        "moto is not installed: {} is missing and DAILIES_TEST_MOTO is not set. \
         Run scripts/moto.sh (it installs moto and prints the path to put in DAILIES_TEST_MOTO).",
        path.display()
    );
    path
}

/// One moto server on a free port, killed when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let binary = moto_binary();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let child = Command::new(&binary)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_ready(port) {
                return moto;
            }
            // Another process took the port between our probe and moto's bind: try another.
        }
        panic!("moto did not start ({})", binary.display());
    }

    fn wait_ready(&mut self, port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let answered = ureq::get(format!("{}/moto-api/", self.endpoint))
                    .config()
                    .http_status_as_error(false)
                    .build()
                    .call()
                    .is_ok();
                if answered {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    fn config(&self, bucket: &str, access_key: &str, secret_key: &str) -> Config {
        Config {
            endpoint: self.endpoint.clone(),
            region: "us-east-1".into(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            session_token: None,
            bucket: bucket.into(),
            path_style: true,
        }
    }

    /// A client with moto's usual any-key credentials, its bucket created.
    fn client(&self, bucket: &str) -> Client {
        let client = Client::new(self.config(bucket, "test", "test"));
        client.create_bucket().unwrap();
        client
    }

    /// Makes an IAM user allowed `s3:*` and returns its (access key, secret); from then on moto
    /// authenticates every request.
    fn enable_authentication(&self) -> (String, String) {
        // Unsigned IAM calls: moto routes them by the service named in the Authorization
        // header, which it does not check until authentication is switched on.
        let iam = |params: &[(&str, &str)]| -> String {
            let mut body = String::from("Version=2010-05-08");
            for (k, v) in params {
                body.push_str(&format!("&{k}={}", form_encode(v)));
            }
            let mut resp = ureq::post(&self.endpoint)
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/iam/aws4_request, \
                     SignedHeaders=host, Signature=0",
                )
                .content_type("application/x-www-form-urlencoded")
                .send(&body)
                .unwrap();
            resp.body_mut().read_to_string().unwrap()
        };
        iam(&[("Action", "CreateUser"), ("UserName", "dailies")]);
        iam(&[
            ("Action", "PutUserPolicy"),
            ("UserName", "dailies"),
            ("PolicyName", "s3"),
            (
                "PolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
            ),
        ]);
        let answer = iam(&[("Action", "CreateAccessKey"), ("UserName", "dailies")]);
        let between = |tag: &str| {
            let open = format!("<{tag}>");
            let start = answer.find(&open).unwrap() + open.len();
            let end = answer[start..].find('<').unwrap();
            answer[start..start + end].to_string()
        };
        let keys = (between("AccessKeyId"), between("SecretAccessKey"));
        ureq::post(format!("{}/moto-api/reset-auth", self.endpoint))
            .send("0")
            .unwrap();
        keys
    }

    /// moto's own Python, which has botocore.
    fn python(&self) -> PathBuf {
        moto_binary().with_file_name("python3")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn read_all(client: &Client, key: &str, range: Option<(u64, u64)>) -> Vec<u8> {
    let mut reader = client.get(key, range).unwrap().expect("object exists");
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    out
}

/// Deterministic bytes that do not repeat within a part (so a misplaced part is noticed).
fn pattern(offset: u64) -> u8 {
    let x = offset.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (offset >> 7);
    (x >> 29) as u8
}

/// A reader that cannot seek, handing out odd-sized pieces; optionally fails at `fail_at`.
struct Generated {
    pos: u64,
    len: u64,
    fail_at: Option<u64>,
    panic_at: Option<u64>,
}

impl Generated {
    fn new(len: u64) -> Generated {
        Generated {
            pos: 0,
            len,
            fail_at: None,
            panic_at: None,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.fail_at.is_some_and(|at| self.pos >= at) {
            return Err(io::Error::other("the source broke"));
        }
        if self.panic_at.is_some_and(|at| self.pos >= at) {
            panic!("the writer crashed");
        }
        let n = buf.len().min(77_777).min((self.len - self.pos) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            *b = pattern(self.pos + i as u64);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn expected(start: u64, end_exclusive: u64) -> Vec<u8> {
    (start..end_exclusive).map(pattern).collect()
}

#[test]
fn small_objects_head_get_ranges_and_delete() {
    let moto = Moto::start();
    let client = moto.client("small");
    assert_eq!(client.bucket(), "small");
    // Creating it again is fine: it is ours.
    client.create_bucket().unwrap();

    let data = b"0123456789abcdef";
    let written = client
        .put("clips/a.txt", &mut &data[..], "text/plain")
        .unwrap();
    assert_eq!(written, 16);

    let meta = client.head("clips/a.txt").unwrap().expect("exists");
    assert_eq!(meta.len, 16);
    assert!(
        meta.etag.as_deref().is_some_and(|e| e.len() > 2),
        "{meta:?}"
    );
    let age = SystemTime::now()
        .duration_since(meta.last_modified.expect("Last-Modified"))
        .unwrap_or_default();
    assert!(age < Duration::from_secs(120), "{meta:?}");

    let whole = client.get("clips/a.txt", None).unwrap().unwrap();
    assert_eq!(whole.meta, meta);
    assert_eq!(whole.range, None);
    assert_eq!(read_all(&client, "clips/a.txt", None), data);

    for (start, end) in [(0, 0), (2, 5), (10, 15), (15, 15)] {
        let reader = client
            .get("clips/a.txt", Some((start, end)))
            .unwrap()
            .unwrap();
        assert_eq!(reader.range, Some((start, end)));
        assert_eq!(reader.meta.len, 16, "the whole object's length");
        assert_eq!(
            read_all(&client, "clips/a.txt", Some((start, end))),
            &data[start as usize..=end as usize]
        );
    }
    // A range reaching past the end is served up to the end, and says so.
    let reader = client.get("clips/a.txt", Some((12, 100))).unwrap().unwrap();
    assert_eq!(reader.range, Some((12, 15)));
    assert_eq!(read_all(&client, "clips/a.txt", Some((12, 100))), b"cdef");
    // One starting past the end cannot be served.
    assert!(matches!(
        client.get("clips/a.txt", Some((16, 20))),
        Err(Error::RangeNotSatisfiable)
    ));

    // Missing objects.
    assert_eq!(client.head("clips/missing").unwrap(), None);
    assert!(client.get("clips/missing", None).unwrap().is_none());
    assert!(client.get("clips/missing", Some((0, 1))).unwrap().is_none());
    client.delete("clips/missing").unwrap();

    // An empty object.
    assert_eq!(
        client.put("empty", &mut io::empty(), "text/plain").unwrap(),
        0
    );
    assert_eq!(client.head("empty").unwrap().unwrap().len, 0);
    assert_eq!(read_all(&client, "empty", None), b"");

    client.delete("clips/a.txt").unwrap();
    assert_eq!(client.head("clips/a.txt").unwrap(), None);
    client.delete("clips/a.txt").unwrap();

    // A missing bucket is an error, not a missing object.
    let other = Client::new(moto.config("no-such-bucket", "test", "test"));
    match other.get("k", None) {
        Err(Error::Service {
            status: 404, code, ..
        }) => assert_eq!(code, "NoSuchBucket"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        other.list(""),
        Err(Error::Service { status: 404, .. })
    ));
}

/// Keys go into the URL path percent-encoded and come back XML-escaped from listings.
#[test]
fn awkward_keys_round_trip() {
    let moto = Moto::start();
    let client = moto.client("keys");
    let keys = [
        "k/with space.mp4",
        "k/ünïcødé/日本語.mov",
        "k/plus+sign",
        "k/percent%20not-a-space",
        "k/equals=and&ampersand",
        "k/quotes'\"<angle>",
        "k/star*colon:semi;comma,",
        "k/hash#question?",
        "k/tilde~dollar$at@",
        "k/deep/er/path.txt",
    ];
    for key in keys {
        client
            .put(key, &mut key.as_bytes(), "application/octet-stream")
            .unwrap();
    }
    for key in keys {
        assert_eq!(
            client.head(key).unwrap().map(|m| m.len),
            Some(key.len() as u64),
            "{key}"
        );
        assert_eq!(read_all(&client, key, None), key.as_bytes(), "{key}");
    }
    let mut listed: Vec<String> = client
        .list("k/")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    listed.sort();
    want.sort();
    assert_eq!(listed, want);
    // A prefix with special characters is matched as written.
    let listed = client.list("k/plus+").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, "k/plus+sign");
    assert_eq!(listed[0].len, "k/plus+sign".len() as u64);
    for key in keys {
        client.delete(key).unwrap();
        assert_eq!(client.head(key).unwrap(), None, "{key}");
    }
    assert!(client.list("k/").unwrap().is_empty());
}

#[test]
fn multipart_upload_from_an_unseekable_reader() {
    let moto = Moto::start();
    let client = moto.client("big").with_part_size(MIN_PART_SIZE);
    let len = 12 * MIB as u64 + 12_345;
    let written = client
        .put("big/clip.mov", &mut Generated::new(len), "video/quicktime")
        .unwrap();
    assert_eq!(written, len);
    let meta = client.head("big/clip.mov").unwrap().unwrap();
    assert_eq!(meta.len, len);
    // S3 (and moto) mark a multipart object's ETag with its part count.
    assert!(meta.etag.as_deref().unwrap().ends_with("-3\""), "{meta:?}");
    let back = read_all(&client, "big/clip.mov", None);
    assert!(back == expected(0, len), "the object read back differs");
    // A range across the first part boundary.
    let (start, end) = (5 * MIB as u64 - 10, 5 * MIB as u64 + 9);
    assert_eq!(
        read_all(&client, "big/clip.mov", Some((start, end))),
        expected(start, end + 1)
    );

    // Exactly one part goes up in a single PUT (no part count in the ETag).
    let one = MIN_PART_SIZE as u64;
    assert_eq!(
        client
            .put("big/one-part", &mut Generated::new(one), "video/mp4")
            .unwrap(),
        one
    );
    let meta = client.head("big/one-part").unwrap().unwrap();
    assert_eq!(meta.len, one);
    assert!(!meta.etag.as_deref().unwrap().contains('-'), "{meta:?}");
    assert!(read_all(&client, "big/one-part", None) == expected(0, one));
    // One byte more makes two parts, the last of one byte.
    client
        .put("big/two-parts", &mut Generated::new(one + 1), "video/mp4")
        .unwrap();
    let meta = client.head("big/two-parts").unwrap().unwrap();
    assert_eq!(meta.len, one + 1);
    assert!(meta.etag.as_deref().unwrap().ends_with("-2\""), "{meta:?}");
    assert!(read_all(&client, "big/two-parts", None) == expected(0, one + 1));
}

#[test]
fn failed_and_crashed_uploads_leave_nothing_behind() {
    let moto = Moto::start();
    let client = moto.client("fail").with_part_size(MIN_PART_SIZE);

    // The source fails in the second part: the upload is aborted.
    let mut source = Generated::new(12 * MIB as u64);
    source.fail_at = Some(7 * MIB as u64);
    match client.put("up/broken", &mut source, "video/mp4") {
        Err(Error::Io(e)) => assert_eq!(e.to_string(), "the source broke"),
        other => panic!("{other:?}"),
    }
    assert_eq!(client.head("up/broken").unwrap(), None);
    assert_eq!(
        client.abort_unfinished_uploads("").unwrap(),
        0,
        "nothing left to abort"
    );

    // A writer that dies mid-upload (a panic here; a killed process alike) leaves the upload
    // unfinished until someone cleans up.
    let crashing = client.clone();
    let crashed = std::thread::spawn(move || {
        let mut source = Generated::new(12 * MIB as u64);
        source.panic_at = Some(6 * MIB as u64);
        let _ = crashing.put("up/crashed", &mut source, "video/mp4");
    })
    .join();
    assert!(crashed.is_err(), "the writer panicked");
    assert_eq!(client.head("up/crashed").unwrap(), None);
    assert_eq!(
        client.abort_unfinished_uploads("other/").unwrap(),
        0,
        "prefix respected"
    );
    assert_eq!(client.abort_unfinished_uploads("up/").unwrap(), 1);
    assert_eq!(client.abort_unfinished_uploads("up/").unwrap(), 0);
    assert_eq!(client.head("up/crashed").unwrap(), None);
}

#[test]
fn listing_follows_continuation_tokens() {
    let moto = Moto::start();
    let client = moto.client("many");
    let keys: Vec<String> = (0..1005).map(|i| format!("many/{i:05}")).collect();
    std::thread::scope(|s| {
        for chunk in keys.chunks(252) {
            let client = client.clone();
            s.spawn(move || {
                for key in chunk {
                    client.put(key, &mut key.as_bytes(), "text/plain").unwrap();
                }
            });
        }
    });
    client.put("other/x", &mut &b"x"[..], "text/plain").unwrap();
    client
        .put("many", &mut &b"not under many/"[..], "text/plain")
        .unwrap();

    // The service's default page (1,000 keys) and a small one both give every key once.
    for client in [client.clone(), client.clone().with_list_page_size(100)] {
        let listed = client.list("many/").unwrap();
        assert_eq!(listed.len(), keys.len());
        assert!(
            listed.iter().zip(&keys).all(|(o, k)| &o.key == k),
            "keys differ or out of order"
        );
        assert!(listed.iter().all(|o| o.len == 10));
    }
    assert_eq!(client.list("").unwrap().len(), 1007);
    assert!(client.list("nothing/").unwrap().is_empty());
}

#[test]
fn presigned_urls_fetch_and_match_botocore() {
    let moto = Moto::start();
    let client = moto.client("presign");
    let key = "media/a b+c/ünï=%.mp4";
    client
        .put(key, &mut &b"presigned bytes"[..], "video/mp4")
        .unwrap();

    let url = client.presign_get(key, Duration::from_secs(600));
    let mut resp = ureq::get(&url).call().unwrap();
    assert_eq!(resp.body_mut().read_to_vec().unwrap(), b"presigned bytes");
    // moto serves presigned URLs without checking their signature or expiry (it would serve a
    // tampered or expired one too), so refusal cannot be tested here. The signature is checked
    // instead against botocore's for the same request, time and expiry.

    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for (token, expires) in [(None, 3600), (Some("FwoGZXIvYXdzE+token/=="), 604_800)] {
        for key in [key, "plain.mp4", "日本/語 ~*'()!"] {
            let mut config = moto.config("presign", "AKIDEXAMPLE", "secret/with+chars");
            config.session_token = token.map(str::to_string);
            let ours = Client::new(config).presign_get_at(key, Duration::from_secs(expires), at);
            let (base, _) = ours.split_once('?').unwrap();
            let botocore = botocore_presign(&moto, base, token, expires);
            assert_eq!(query_pairs(&ours), query_pairs(&botocore), "{key}");
            assert_eq!(botocore.split_once('?').unwrap().0, base);
        }
    }
}

fn query_pairs(url: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = url
        .split_once('?')
        .unwrap()
        .1
        .split('&')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    pairs.sort();
    pairs
}

/// botocore's presigned URL for `url` (already encoded, as S3 signs it) at 2023-11-14T22:13:20Z.
fn botocore_presign(moto: &Moto, url: &str, token: Option<&str>, expires: u64) -> String {
    let script = r#"
import sys, datetime
import botocore.auth
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
url, token, expires = sys.argv[1], sys.argv[2] or None, int(sys.argv[3])
botocore.auth.get_current_datetime = lambda: datetime.datetime(2023, 11, 14, 22, 13, 20)
request = AWSRequest(method="GET", url=url)
S3SigV4QueryAuth(Credentials("AKIDEXAMPLE", "secret/with+chars", token), "s3", "us-east-1", expires=expires).add_auth(request)
print(request.url)
"#;
    let out = Command::new(moto.python())
        .args(["-c", script, url, token.unwrap_or(""), &expires.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn signatures_are_checked_by_moto() {
    let moto = Moto::start();
    let (access_key, secret_key) = moto.enable_authentication();

    // moto now recomputes every signature (with botocore) and refuses a wrong one.
    let wrong = Client::new(moto.config("signed", &access_key, "not-the-secret"));
    match wrong.create_bucket() {
        Err(Error::Service {
            status: 403, code, ..
        }) => assert_eq!(code, "SignatureDoesNotMatch"),
        other => panic!("{other:?}"),
    }
    let unknown = Client::new(moto.config("signed", "AKIDUNKNOWN", &secret_key));
    match unknown.create_bucket() {
        Err(Error::Service {
            status: 403, code, ..
        }) => assert_eq!(code, "InvalidAccessKeyId"),
        other => panic!("{other:?}"),
    }

    let client = Client::new(moto.config("signed", &access_key, &secret_key))
        .with_part_size(MIN_PART_SIZE)
        .with_list_page_size(2);
    client.create_bucket().unwrap();
    let key = "s/ünï code+plus=eq%pct&amp.mp4";
    client.put(key, &mut &b"signed"[..], "video/mp4").unwrap();
    assert_eq!(client.head(key).unwrap().unwrap().len, 6);
    assert_eq!(read_all(&client, key, Some((1, 3))), b"ign");
    let len = 11 * MIB as u64;
    client
        .put("s/big", &mut Generated::new(len), "video/mp4")
        .unwrap();
    assert!(read_all(&client, "s/big", None) == expected(0, len));
    client.put("s/x y", &mut &b""[..], "text/plain").unwrap();
    let mut keys: Vec<String> = client
        .list("s/")
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    keys.sort();
    let mut want = vec!["s/big", key, "s/x y"];
    want.sort();
    assert_eq!(keys, want);
    assert_eq!(client.abort_unfinished_uploads("s/").unwrap(), 0);
    client.delete(key).unwrap();
    assert_eq!(client.head(key).unwrap(), None);
    assert!(matches!(
        client.get("s/big", Some((len, len + 1))),
        Err(Error::RangeNotSatisfiable)
    ));
}
