//! A minimal MPEG transport stream writer: one H.264 or HEVC stream with presentation and decode
//! times, which is how timestamped access units reach ffmpeg on a pipe (its TS demuxer keeps
//! them as they are, unlike its raw H.264/HEVC demuxers).

use crate::elementary::Packet;
use crate::encode::Codec;
use crate::source::FrameRate;

const TS: usize = 188;
const PMT_PID: u16 = 0x1000;
const VIDEO_PID: u16 = 0x0100;
/// Timestamps are 33-bit counts of a 90 kHz clock.
const CLOCK: u64 = 90_000;
const WRAP: u64 = 1 << 33;

pub(crate) struct TsWriter {
    stream_type: u8,
    rate: FrameRate,
    continuity: u8,
    tables_written: bool,
}

impl TsWriter {
    /// For H.264 or HEVC (`None` for the others), at `rate` frames per second.
    pub(crate) fn new(codec: Codec, rate: FrameRate) -> Option<Self> {
        let stream_type = match codec {
            Codec::H264 => 0x1b,
            Codec::Hevc => 0x24,
            Codec::Av1 | Codec::Vp9 => return None,
        };
        Some(TsWriter {
            stream_type,
            rate,
            continuity: 0,
            tables_written: false,
        })
    }

    /// Frame `n`'s time on the 90 kHz clock, rounded from the exact rate (no drift).
    fn ticks(&self, n: u64) -> u64 {
        let t = u128::from(n) * u128::from(CLOCK) * u128::from(self.rate.den)
            / u128::from(self.rate.num.max(1));
        (t % u128::from(WRAP)) as u64
    }

    pub(crate) fn write(&mut self, packet: &Packet, out: &mut Vec<u8>) {
        if !self.tables_written {
            self.tables(out);
            self.tables_written = true;
        }
        let pts = self.ticks(packet.pts);
        let dts = self.ticks(packet.dts);
        let mut pes = Vec::with_capacity(packet.data.len() + 19);
        pes.extend_from_slice(&[0, 0, 1, 0xe0]);
        let length = packet.data.len() + 13;
        // 0 means "unbounded", allowed for video when it does not fit in 16 bits.
        let length = u16::try_from(length).unwrap_or(0);
        pes.extend_from_slice(&length.to_be_bytes());
        pes.extend_from_slice(&[0x84, 0xc0, 10]); // data aligned; PTS and DTS follow
        timestamp(&mut pes, 0x3, pts);
        timestamp(&mut pes, 0x1, dts);
        pes.extend_from_slice(&packet.data);

        let mut rest = &pes[..];
        let mut first = true;
        while !rest.is_empty() {
            // The first packet carries the clock reference (and marks keyframes).
            let mut adaptation = Vec::new();
            if first {
                adaptation.push(if packet.keyframe { 0x50 } else { 0x10 });
                pcr(&mut adaptation, dts);
            }
            let room = 184 - if first { 1 + adaptation.len() } else { 0 };
            let take = rest.len().min(room);
            let has_adaptation = first || take < 184;
            if has_adaptation {
                let len = 184 - take - 1; // bytes after the length byte
                if len > 0 && adaptation.is_empty() {
                    adaptation.push(0);
                }
                adaptation.resize(len, 0xff);
            }
            let start = out.len();
            out.push(0x47);
            out.push(if first { 0x40 } else { 0 } | (VIDEO_PID >> 8) as u8);
            out.push(VIDEO_PID as u8);
            out.push(if has_adaptation { 0x30 } else { 0x10 } | self.continuity);
            self.continuity = (self.continuity + 1) & 0xf;
            if has_adaptation {
                out.push(adaptation.len() as u8);
                out.extend_from_slice(&adaptation);
            }
            out.extend_from_slice(&rest[..take]);
            debug_assert_eq!(out.len() - start, TS);
            rest = &rest[take..];
            first = false;
        }
    }

    fn tables(&self, out: &mut Vec<u8>) {
        let pat = [
            0x00,
            0xb0,
            13,
            0x00,
            0x01,
            0xc1,
            0,
            0,
            0x00,
            0x01,
            0xe0 | (PMT_PID >> 8) as u8,
            PMT_PID as u8,
        ];
        section(out, 0, &pat);
        let pmt = [
            0x02,
            0xb0,
            18,
            0x00,
            0x01,
            0xc1,
            0,
            0,
            0xe0 | (VIDEO_PID >> 8) as u8,
            VIDEO_PID as u8,
            0xf0,
            0,
            self.stream_type,
            0xe0 | (VIDEO_PID >> 8) as u8,
            VIDEO_PID as u8,
            0xf0,
            0,
        ];
        section(out, PMT_PID, &pmt);
    }
}

/// A PSI section (without its CRC) alone in one packet.
fn section(out: &mut Vec<u8>, pid: u16, body: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&[0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0]);
    out.extend_from_slice(body);
    out.extend_from_slice(&crc32_mpeg(body).to_be_bytes());
    out.resize(start + TS, 0xff);
}

fn timestamp(out: &mut Vec<u8>, prefix: u8, ts: u64) {
    out.push((prefix << 4) | (((ts >> 30) as u8 & 7) << 1) | 1);
    out.push((ts >> 22) as u8);
    out.push((((ts >> 15) as u8 & 0x7f) << 1) | 1);
    out.push((ts >> 7) as u8);
    out.push(((ts as u8 & 0x7f) << 1) | 1);
}

fn pcr(out: &mut Vec<u8>, base: u64) {
    out.push((base >> 25) as u8);
    out.push((base >> 17) as u8);
    out.push((base >> 9) as u8);
    out.push((base >> 1) as u8);
    out.push(((base as u8 & 1) << 7) | 0x7e);
    out.push(0);
}

fn crc32_mpeg(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_whole_and_times_exact() {
        assert_eq!(crc32_mpeg(b"123456789"), 0x0376_e6e7);
        let rate = FrameRate {
            num: 24000,
            den: 1001,
        };
        let mut w = TsWriter::new(Codec::Hevc, rate).unwrap();
        assert_eq!(w.ticks(24000), 1001 * 90_000);
        for size in [0, 1, 150, 163, 164, 165, 183, 184, 185, 400, 70_000] {
            let mut out = Vec::new();
            let packet = Packet {
                data: vec![7; size],
                pts: 3,
                dts: 1,
                keyframe: false,
            };
            w.write(&packet, &mut out);
            assert_eq!(out.len() % TS, 0, "{size}");
            assert!(out.chunks(TS).all(|p| p[0] == 0x47));
            let payload: usize = out
                .chunks(TS)
                .filter(|p| u16::from(p[1] & 0x1f) << 8 | u16::from(p[2]) == VIDEO_PID)
                .map(|p| {
                    if p[3] & 0x20 != 0 {
                        183 - usize::from(p[4])
                    } else {
                        184
                    }
                })
                .sum();
            assert_eq!(payload, size + 19, "{size}");
        }
    }
}
