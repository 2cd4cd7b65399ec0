//! A drawing sent with a comment: a `data:image/png;base64,…` (or WebP) URL, as a browser's
//! `canvas.toDataURL()` makes it. It is checked before it is stored: its size, and the image's
//! own structure (the format's signature, its header, every PNG chunk's checksum, dimensions a
//! screen could show). The pixels are not decoded here; the browser that shows them does.

use base64::Engine;

/// Largest decoded drawing: a full-HD overlay of strokes is a few hundred kilobytes.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// Largest side, and largest area (8K UHD), in pixels.
pub const MAX_SIDE: u32 = 8192;
pub const MAX_PIXELS: u64 = 7680 * 4320;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Webp,
}

impl ImageFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }
}

/// A checked drawing, ready to be written.
#[derive(Debug)]
pub struct Drawing {
    pub format: ImageFormat,
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DrawingError {
    #[error("drawing must be a data URL: data:image/png;base64,…")]
    NotDataUrl,
    #[error("drawing must be a PNG or WebP image, not {0}")]
    UnsupportedType(String),
    #[error("drawing is not valid base64")]
    NotBase64,
    #[error("drawing is too large: at most {MAX_BYTES} bytes once decoded")]
    TooLarge,
    #[error("drawing is not a valid {0} image: {1}")]
    Malformed(&'static str, &'static str),
    #[error("drawing is {0}x{1} pixels; at most {MAX_SIDE} on a side and 7680x4320 in all")]
    Dimensions(u32, u32),
}

/// Parses and checks a data URL.
pub fn parse_data_url(url: &str) -> Result<Drawing, DrawingError> {
    let rest = strip_prefix_ignore_case(url.trim(), "data:").ok_or(DrawingError::NotDataUrl)?;
    let (header, payload) = rest.split_once(',').ok_or(DrawingError::NotDataUrl)?;
    let mut params = header.split(';').map(str::trim);
    let media_type = params.next().unwrap_or("").to_ascii_lowercase();
    // `;base64` must be the last parameter (RFC 2397); anything between is ignored.
    if !header.to_ascii_lowercase().ends_with(";base64") {
        return Err(DrawingError::NotDataUrl);
    }
    let format = match media_type.as_str() {
        "image/png" => ImageFormat::Png,
        "image/webp" => ImageFormat::Webp,
        "" => return Err(DrawingError::NotDataUrl),
        other => {
            let shown: String = other.chars().take(40).collect();
            return Err(DrawingError::UnsupportedType(shown));
        }
    };
    // Refuse before decoding: four characters carry three bytes.
    if payload.len() > MAX_BYTES.div_ceil(3) * 4 {
        return Err(DrawingError::TooLarge);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(payload.trim())
        .map_err(|_| DrawingError::NotBase64)?;
    if bytes.len() > MAX_BYTES {
        return Err(DrawingError::TooLarge);
    }
    let (width, height) = match format {
        ImageFormat::Png => png_size(&bytes)?,
        ImageFormat::Webp => webp_size(&bytes)?,
    };
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DrawingError::Dimensions(width, height));
    }
    Ok(Drawing {
        format,
        bytes,
        width,
        height,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
const PNG_CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// Walks a PNG's chunks: IHDR first with a valid header, every chunk's CRC right, image data
/// present, IEND last and nothing after it. Animated PNGs are refused (a drawing is one frame).
fn png_size(b: &[u8]) -> Result<(u32, u32), DrawingError> {
    let bad = |why| DrawingError::Malformed("PNG", why);
    let mut rest = b
        .strip_prefix(PNG_SIGNATURE)
        .ok_or(bad("no PNG signature"))?;
    let mut size = None;
    let mut seen_data = false;
    let mut palette = false;
    let mut color_type = 0;
    loop {
        if rest.len() < 12 {
            return Err(bad("it ends in the middle of a chunk"));
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        if len > rest.len() - 12 {
            return Err(bad("a chunk is longer than the file"));
        }
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(bad("a chunk has an invalid name"));
        }
        let data = &rest[8..8 + len];
        let stored = &rest[8 + len..12 + len];
        let mut digest = PNG_CRC.digest();
        digest.update(kind);
        digest.update(data);
        if digest.finalize().to_be_bytes() != stored {
            return Err(bad("a chunk's checksum is wrong"));
        }
        rest = &rest[12 + len..];
        match (kind, size) {
            (b"IHDR", None) => {
                size = Some(png_header(data).ok_or(bad("its header (IHDR) is invalid"))?);
                color_type = data[9];
            }
            (_, None) => return Err(bad("the header (IHDR) is not the first chunk")),
            (b"IHDR", Some(_)) => return Err(bad("it has two headers")),
            (b"acTL", _) => return Err(bad("animated PNGs are not drawings")),
            (b"PLTE", _) => palette = true,
            (b"IDAT", _) => {
                if color_type == 3 && !palette {
                    return Err(bad("a palette image without its palette"));
                }
                seen_data = true;
            }
            (b"IEND", Some(dims)) => {
                if !seen_data {
                    return Err(bad("it has no image data"));
                }
                if !rest.is_empty() {
                    return Err(bad("there are bytes after its end"));
                }
                return Ok(dims);
            }
            _ => {}
        }
    }
}

/// Width and height from a 13-byte IHDR whose fields are all legal.
fn png_header(d: &[u8]) -> Option<(u32, u32)> {
    if d.len() != 13 {
        return None;
    }
    let w = u32::from_be_bytes([d[0], d[1], d[2], d[3]]);
    let h = u32::from_be_bytes([d[4], d[5], d[6], d[7]]);
    let (depth, color, compression, filter, interlace) = (d[8], d[9], d[10], d[11], d[12]);
    let depth_ok = match color {
        0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(depth, 8 | 16),
        _ => false,
    };
    let ok = w > 0
        && h > 0
        && w <= i32::MAX as u32
        && h <= i32::MAX as u32
        && depth_ok
        && compression == 0
        && filter == 0
        && interlace <= 1;
    ok.then_some((w, h))
}

/// A WebP: the RIFF container exactly as long as it says, its chunks fitting it, and the size
/// from the first chunk (`VP8 `, `VP8L` or `VP8X`). Animated WebPs are refused.
fn webp_size(b: &[u8]) -> Result<(u32, u32), DrawingError> {
    let bad = |why| DrawingError::Malformed("WebP", why);
    if b.len() < 20 || &b[0..4] != b"RIFF" || &b[8..12] != b"WEBP" {
        return Err(bad("no RIFF/WEBP signature"));
    }
    let riff_len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if riff_len + 8 != b.len() {
        return Err(bad("its length does not match its header"));
    }
    // Every chunk must fit, padded to an even length, and end exactly at the end.
    let mut at = 12;
    let mut first: Option<(&[u8], &[u8])> = None;
    while at < b.len() {
        if b.len() - at < 8 {
            return Err(bad("it ends in the middle of a chunk"));
        }
        let kind = &b[at..at + 4];
        let len = u32::from_le_bytes([b[at + 4], b[at + 5], b[at + 6], b[at + 7]]) as usize;
        let end = at + 8 + len;
        if end > b.len() {
            return Err(bad("a chunk is longer than the file"));
        }
        if kind == b"ANIM" || kind == b"ANMF" {
            return Err(bad("animated WebPs are not drawings"));
        }
        first.get_or_insert((kind, &b[at + 8..end]));
        at = end + (len & 1);
    }
    if at != b.len() {
        return Err(bad("its last chunk is cut short"));
    }
    let (kind, d) = first.ok_or(bad("it has no image"))?;
    let dims = match kind {
        b"VP8X" if d.len() >= 10 => {
            if d[0] & 0x02 != 0 {
                return Err(bad("animated WebPs are not drawings"));
            }
            let w = u32::from_le_bytes([d[4], d[5], d[6], 0]) + 1;
            let h = u32::from_le_bytes([d[7], d[8], d[9], 0]) + 1;
            Some((w, h))
        }
        b"VP8L" if d.len() >= 5 && d[0] == 0x2f => {
            let bits = u32::from_le_bytes([d[1], d[2], d[3], d[4]]);
            Some(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        // A key frame: bit 0 of the frame tag clear, then the start code.
        b"VP8 " if d.len() >= 10 && d[0] & 1 == 0 && d[3..6] == [0x9d, 0x01, 0x2a] => {
            let w = u32::from(u16::from_le_bytes([d[6], d[7]]) & 0x3fff);
            let h = u32::from(u16::from_le_bytes([d[8], d[9]]) & 0x3fff);
            (w > 0 && h > 0).then_some((w, h))
        }
        _ => None,
    };
    dims.ok_or(bad("its image header is invalid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut digest = PNG_CRC.digest();
        digest.update(kind);
        digest.update(data);
        out.extend_from_slice(&digest.finalize().to_be_bytes());
        out
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&h.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out.extend(chunk(b"IDAT", b"\x78\x9c\x03\x00\x00\x00\x00\x01"));
        out.extend(chunk(b"IEND", b""));
        out
    }

    fn url(kind: &str, bytes: &[u8]) -> String {
        format!(
            "data:{kind};base64,{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    #[test]
    fn a_png_is_accepted_with_its_size() {
        let d = parse_data_url(&url("image/png", &png(640, 360))).unwrap();
        assert_eq!((d.format, d.width, d.height), (ImageFormat::Png, 640, 360));
        assert!(parse_data_url(&url("IMAGE/PNG", &png(1, 1))).is_ok());
    }

    #[test]
    fn lies_and_damage_are_refused() {
        let good = png(64, 64);
        let mut lying = good.clone();
        lying[16..20].copy_from_slice(&100_000u32.to_be_bytes()); // width changed, CRC not
        let mut huge = PNG_SIGNATURE.to_vec();
        huge.extend(chunk(
            b"IHDR",
            &[0, 0, 0x40, 0, 0, 0, 0x40, 0, 8, 6, 0, 0, 0],
        ));
        huge.extend(chunk(b"IDAT", b"x"));
        huge.extend(chunk(b"IEND", b""));
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"<script>");
        let truncated = &good[..good.len() - 6];
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        for (bytes, what) in [
            (&lying[..], "lying header"),
            (truncated, "truncated"),
            (&trailing[..], "trailing bytes"),
            (&gif[..], "a GIF labelled PNG"),
            (b"hello" as &[u8], "text"),
        ] {
            assert!(
                matches!(
                    parse_data_url(&url("image/png", bytes)),
                    Err(DrawingError::Malformed(..))
                ),
                "{what}"
            );
        }
        assert_eq!(
            parse_data_url(&url("image/png", &huge)).unwrap_err(),
            DrawingError::Dimensions(16384, 16384)
        );
    }

    #[test]
    fn wrong_types_and_malformed_urls() {
        assert!(matches!(
            parse_data_url(&url("image/gif", b"GIF89a")),
            Err(DrawingError::UnsupportedType(_))
        ));
        assert!(matches!(
            parse_data_url(&url("text/plain", b"hi")),
            Err(DrawingError::UnsupportedType(_))
        ));
        for bad in [
            "",
            "http://example.com/x.png",
            "data:image/png,rawbytes",
            "data:image/png;base64",
            "data:;base64,AAAA",
        ] {
            assert_eq!(
                parse_data_url(bad).unwrap_err(),
                DrawingError::NotDataUrl,
                "{bad}"
            );
        }
        assert_eq!(
            parse_data_url("data:image/png;base64,@@@@").unwrap_err(),
            DrawingError::NotBase64
        );
        let big = "A".repeat(MAX_BYTES / 3 * 4 + 8);
        assert_eq!(
            parse_data_url(&format!("data:image/png;base64,{big}")).unwrap_err(),
            DrawingError::TooLarge
        );
    }

    #[test]
    fn webp_headers() {
        fn riff(chunks: &[u8]) -> Vec<u8> {
            let mut out = b"RIFF".to_vec();
            out.extend_from_slice(&((chunks.len() + 4) as u32).to_le_bytes());
            out.extend_from_slice(b"WEBP");
            out.extend_from_slice(chunks);
            out
        }
        // VP8L: signature, then 14-bit width-1 and height-1.
        let bits: u32 = 99 | (49 << 14);
        let mut vp8l = b"VP8L".to_vec();
        vp8l.extend_from_slice(&6u32.to_le_bytes());
        vp8l.push(0x2f);
        vp8l.extend_from_slice(&bits.to_le_bytes());
        vp8l.push(0);
        let file = riff(&vp8l);
        let d = parse_data_url(&url("image/webp", &file)).unwrap();
        assert_eq!((d.width, d.height), (100, 50));
        let mut short = file.clone();
        short.pop();
        assert!(parse_data_url(&url("image/webp", &short)).is_err());
        assert!(parse_data_url(&url("image/webp", &png(1, 1))).is_err());
    }
}
