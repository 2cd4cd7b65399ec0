//! The few small, fixed XML documents S3 answers with, read by finding tags. Element names are
//! matched whole (`<Key>` is not `<KeyMarker>`); text is unescaped.

/// Inner text of every `<tag>…</tag>` (or empty for `<tag/>`), in order, not unescaped.
pub(crate) fn elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        let Some(gt) = after.find('>') else { break };
        let attrs = &after[..gt];
        // `<KeyMarker>` when looking for `Key`: the name goes on; skip it.
        if !(attrs.is_empty() || attrs.starts_with(|c: char| c.is_whitespace() || c == '/')) {
            rest = after;
            continue;
        }
        if attrs.ends_with('/') {
            out.push("");
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push(&body[..end]);
        rest = &body[end + close.len()..];
    }
    out
}

/// Unescaped text of the first `<tag>`.
pub(crate) fn text(xml: &str, tag: &str) -> Option<String> {
    elements(xml, tag).first().map(|s| unescape(s))
}

/// The five predefined entities and numeric character references; anything else is kept as
/// written.
pub(crate) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse::<u32>))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn is_true(xml: &str, tag: &str) -> bool {
    text(xml, tag).is_some_and(|t| t.trim() == "true")
}

/// One page of ListObjectsV2.
#[derive(Debug, PartialEq)]
pub(crate) struct ObjectsPage {
    pub objects: Vec<(String, u64)>,
    pub next_token: Option<String>,
}

pub(crate) fn objects_page(xml: &str) -> Result<ObjectsPage, String> {
    let mut objects = Vec::new();
    for contents in elements(xml, "Contents") {
        let key = text(contents, "Key").ok_or("an object without <Key>")?;
        let size = text(contents, "Size")
            .and_then(|s| s.trim().parse().ok())
            .ok_or("an object without a valid <Size>")?;
        objects.push((key, size));
    }
    let next_token = if is_true(xml, "IsTruncated") {
        Some(text(xml, "NextContinuationToken").ok_or("truncated without a continuation token")?)
    } else {
        None
    };
    Ok(ObjectsPage {
        objects,
        next_token,
    })
}

/// One page of ListMultipartUploads.
#[derive(Debug, PartialEq)]
pub(crate) struct UploadsPage {
    /// (key, upload id)
    pub uploads: Vec<(String, String)>,
    /// (key marker, upload id marker) of the next page.
    pub next: Option<(String, String)>,
}

pub(crate) fn uploads_page(xml: &str) -> Result<UploadsPage, String> {
    let mut uploads = Vec::new();
    for upload in elements(xml, "Upload") {
        let key = text(upload, "Key").ok_or("an upload without <Key>")?;
        let id = text(upload, "UploadId").ok_or("an upload without <UploadId>")?;
        uploads.push((key, id));
    }
    let next = if is_true(xml, "IsTruncated") {
        Some((
            text(xml, "NextKeyMarker").unwrap_or_default(),
            text(xml, "NextUploadIdMarker").unwrap_or_default(),
        ))
    } else {
        None
    };
    Ok(UploadsPage { uploads, next })
}

/// `<Error><Code>…</Code><Message>…</Message></Error>` → (code, message).
pub(crate) fn error(xml: &str) -> Option<(String, String)> {
    let body = elements(xml, "Error").into_iter().next()?;
    let code = text(body, "Code")?;
    Some((code, text(body, "Message").unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescapes_entities_and_references() {
        assert_eq!(
            unescape("a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos;"),
            "a & b <c> \"d\" 'e'"
        );
        assert_eq!(unescape("&#13;&#x41;&#X42;"), "\rAB");
        assert_eq!(unescape("&amp;amp;"), "&amp;");
        assert_eq!(unescape("a & b &bogus; &"), "a & b &bogus; &");
        assert_eq!(unescape("&#xD800;"), "&#xD800;");
        assert_eq!(unescape(&escape("<&'\">x")), "<&'\">x");
    }

    #[test]
    fn elements_match_whole_names() {
        let xml = "<R><KeyMarker>m</KeyMarker><Key>a</Key><Key/><Key attr=\"1\">b</Key></R>";
        assert_eq!(elements(xml, "Key"), vec!["a", "", "b"]);
        assert_eq!(elements(xml, "KeyMarker"), vec!["m"]);
        assert!(elements(xml, "Nope").is_empty());
        assert_eq!(elements("<Key>unterminated", "Key"), Vec::<&str>::new());
    }

    #[test]
    fn parses_list_objects_v2() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a &amp; b.mp4</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>p/&lt;x&gt;</Key><Size>0</Size></Contents>
  <NextContinuationToken>tok+/=</NextContinuationToken>
</ListBucketResult>"#;
        assert_eq!(
            objects_page(xml).unwrap(),
            ObjectsPage {
                objects: vec![("p/a & b.mp4".into(), 12), ("p/<x>".into(), 0)],
                next_token: Some("tok+/=".into()),
            }
        );
        let last = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
        assert_eq!(
            objects_page(last).unwrap(),
            ObjectsPage {
                objects: vec![],
                next_token: None
            }
        );
        assert!(objects_page("<Contents><Key>a</Key><Size>x</Size></Contents>").is_err());
        assert!(objects_page("<IsTruncated>true</IsTruncated>").is_err());
    }

    #[test]
    fn parses_multipart_uploads() {
        let xml = r#"<ListMultipartUploadsResult>
  <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>k2</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>
  <IsTruncated>true</IsTruncated>
  <Upload><Key>k1</Key><UploadId>u1</UploadId><Initiator><ID>x</ID></Initiator></Upload>
  <Upload><Key>k2</Key><UploadId>u2</UploadId></Upload>
</ListMultipartUploadsResult>"#;
        assert_eq!(
            uploads_page(xml).unwrap(),
            UploadsPage {
                uploads: vec![("k1".into(), "u1".into()), ("k2".into(), "u2".into())],
                next: Some(("k2".into(), "u2".into())),
            }
        );
    }

    #[test]
    fn parses_errors() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code>\
                   <Message>The key &apos;a&apos; does not exist</Message></Error>";
        assert_eq!(
            error(xml),
            Some(("NoSuchKey".into(), "The key 'a' does not exist".into()))
        );
        assert_eq!(error("<Error><Message>m</Message></Error>"), None);
        assert_eq!(error("not xml"), None);
    }
}
