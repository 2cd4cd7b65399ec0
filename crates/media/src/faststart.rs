//! Is a file an MP4 a browser can stream as it is: an MP4-family brand (not QuickTime's `qt  `,
//! which some browsers refuse under its own MIME type) with its index (`moov`) before its media
//! data, so playback starts before the whole file has downloaded?

use std::io::{self, SeekFrom};
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// A cap on top-level boxes walked; real files have a handful, crafted ones could have millions.
const MAX_TOP_LEVEL_BOXES: usize = 4096;

/// Walk the top-level ISO-BMFF boxes and report whether `moov` comes before `mdat`.
///
/// Returns `Ok(false)` for anything that is not a well-formed box sequence (including non-MP4
/// files), which callers treat as "remux to be safe".
pub async fn is_streamable_mp4(path: &Path) -> io::Result<bool> {
    let mut file = tokio::fs::File::open(path).await?;
    let len = file.metadata().await?.len();
    let mut pos: u64 = 0;
    for _ in 0..MAX_TOP_LEVEL_BOXES {
        if pos + 8 > len {
            return Ok(false);
        }
        file.seek(SeekFrom::Start(pos)).await?;
        let mut header = [0u8; 8];
        file.read_exact(&mut header).await?;
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let kind = [header[4], header[5], header[6], header[7]];
        let size = match size32 {
            // Box extends to the end of the file.
            0 => len - pos,
            // 64-bit size follows the type.
            1 => {
                let mut large = [0u8; 8];
                file.read_exact(&mut large).await?;
                u64::from_be_bytes(large)
            }
            n => u64::from(n),
        };
        match &kind {
            b"ftyp" => {
                let mut brand = [0u8; 4];
                file.read_exact(&mut brand).await?;
                if &brand == b"qt  " {
                    return Ok(false);
                }
            }
            b"moov" => return Ok(true),
            b"mdat" => return Ok(false),
            _ => {}
        }
        if size < 8 {
            return Ok(false);
        }
        pos = match pos.checked_add(size) {
            Some(p) => p,
            None => return Ok(false),
        };
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut b = ((body + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend(std::iter::repeat_n(0u8, body));
        b
    }

    async fn check(bytes: &[u8]) -> bool {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.mp4");
        std::fs::write(&p, bytes).expect("write");
        is_streamable_mp4(&p).await.expect("walk")
    }

    #[tokio::test]
    async fn order_detected() {
        let mut fast = boxed(b"ftyp", 16);
        fast.extend(boxed(b"moov", 40));
        fast.extend(boxed(b"mdat", 100));
        assert!(check(&fast).await);

        let mut slow = boxed(b"ftyp", 16);
        slow.extend(boxed(b"mdat", 100));
        slow.extend(boxed(b"moov", 40));
        assert!(!check(&slow).await);

        // 64-bit sized free box before moov.
        let mut large = boxed(b"ftyp", 8);
        large.extend(1u32.to_be_bytes());
        large.extend(b"free");
        large.extend(24u64.to_be_bytes());
        large.extend([0u8; 8]);
        large.extend(boxed(b"moov", 8));
        assert!(check(&large).await);

        // QuickTime's brand: browsers may refuse it as video/quicktime, so it is remuxed.
        let mut qt = 20u32.to_be_bytes().to_vec();
        qt.extend(b"ftypqt  ");
        qt.extend([0u8; 8]);
        qt.extend(boxed(b"moov", 40));
        qt.extend(boxed(b"mdat", 100));
        assert!(!check(&qt).await);

        assert!(!check(b"hello world, not an mp4 at all").await);
        assert!(!check(&[0u8; 4]).await);
    }
}
