//! Timestamps for an H.264/HEVC elementary stream (Annex B), from its own picture order counts.
//!
//! Such a stream carries no timestamps, and ffmpeg 5.1's raw demuxers give its packets times in
//! decode order only: with B-frames the reordered frames are shown at the wrong times, and MP4's
//! edit list cuts the first ones. The order the encoder meant is each picture's order count
//! (POC) in its slice header: here access units keep their decode order and get presentation
//! times in POC order, the way a decoder outputs them.

use std::collections::VecDeque;

use crate::encode::Codec;

/// Why an encoder's stream could not be given timestamps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("the encoder's {0} stream uses a parameter set it never sent")]
    MissingParameterSet(&'static str),
    #[error("the encoder's {0} stream has a malformed header")]
    Malformed(&'static str),
    #[error("the encoder's stream uses {0}, which is not supported")]
    Unsupported(&'static str),
}

/// One access unit in decode order, with times counted in frames (`pts` ≥ `dts` ≥ 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    pub data: Vec<u8>,
    pub pts: u64,
    pub dts: u64,
    pub keyframe: bool,
}

/// More pictures than a decoder may ever hold for reordering (a DPB has at most 16).
const REORDER_WINDOW: usize = 16;

/// Splits an Annex B byte stream into NAL units (start codes and trailing zeros removed).
#[derive(Default)]
struct Splitter {
    buf: Vec<u8>,
    scan: usize,
    nal_start: Option<usize>,
}

impl Splitter {
    fn push(&mut self, data: &[u8], nals: &mut Vec<Vec<u8>>) {
        self.buf.extend_from_slice(data);
        while let Some(p) = find_start_code(&self.buf, self.scan) {
            if let Some(s) = self.nal_start {
                nals.push(trim_zeros(&self.buf[s..p]).to_vec());
            }
            self.nal_start = Some(p + 3);
            self.scan = p + 3;
        }
        self.scan = self.buf.len().saturating_sub(2).max(self.scan);
        // Keep only the unfinished NAL (or, before the first start code, the last two bytes).
        let keep_from = self.nal_start.unwrap_or(self.buf.len().saturating_sub(2));
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.scan -= keep_from.min(self.scan);
            self.nal_start = self.nal_start.map(|s| s - keep_from);
        }
    }

    fn finish(&mut self, nals: &mut Vec<Vec<u8>>) {
        if let Some(s) = self.nal_start.take() {
            nals.push(trim_zeros(&self.buf[s..]).to_vec());
        }
        self.buf.clear();
        self.scan = 0;
    }
}

fn find_start_code(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i + 3 <= buf.len() {
        if buf[i + 2] > 1 {
            i += 3;
        } else if buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1 {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

fn trim_zeros(nal: &[u8]) -> &[u8] {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    &nal[..end]
}

/// The payload of a NAL without emulation prevention bytes, at most `limit` bytes of it.
fn rbsp(nal: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len().min(limit));
    let mut zeros = 0;
    for &b in nal {
        if out.len() >= limit {
            break;
        }
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Reads bits (and Exp-Golomb codes) from an RBSP.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    codec: &'static str,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], codec: &'static str) -> Self {
        Bits {
            data,
            pos: 0,
            codec,
        }
    }

    fn bit(&mut self) -> Result<u32, StreamError> {
        let byte = self
            .data
            .get(self.pos / 8)
            .ok_or(StreamError::Malformed(self.codec))?;
        let b = (byte >> (7 - self.pos % 8)) & 1;
        self.pos += 1;
        Ok(u32::from(b))
    }

    fn u(&mut self, n: u32) -> Result<u32, StreamError> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }

    fn flag(&mut self) -> Result<bool, StreamError> {
        Ok(self.bit()? == 1)
    }

    fn skip(&mut self, n: usize) -> Result<(), StreamError> {
        self.pos += n;
        if self.pos > self.data.len() * 8 {
            return Err(StreamError::Malformed(self.codec));
        }
        Ok(())
    }

    fn ue(&mut self) -> Result<u32, StreamError> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(StreamError::Malformed(self.codec));
            }
        }
        let rest = self.u(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)) as u32)
    }

    fn se(&mut self) -> Result<i64, StreamError> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

/// What a slice header says about its picture.
struct Picture {
    /// Presentation order: by coded video sequence, then by POC.
    key: (u64, i64),
    /// A new coded video sequence: every earlier picture is shown before it.
    resets: bool,
    keyframe: bool,
    /// A RASL picture of an open GOP the stream starts with: not decodable, never shown.
    skip: bool,
    /// Frames of reordering the stream declares (for decode times).
    reorder: u32,
}

/// Slice headers are short: this much of a slice NAL is enough to reach the POC.
const SLICE_HEADER_BYTES: usize = 256;

#[derive(Clone, Copy)]
struct HevcSps {
    separate_colour_plane: bool,
    log2_max_poc_lsb: u32,
    reorder: u32,
}

#[derive(Clone, Copy)]
struct HevcPps {
    sps: usize,
    output_flag_present: bool,
    extra_slice_header_bits: u32,
}

#[derive(Default)]
struct Hevc {
    sps: Vec<Option<HevcSps>>,
    pps: Vec<Option<HevcPps>>,
    cvs: u64,
    prev_tid0_poc: i64,
    started: bool,
    after_eos: bool,
    irap_without_rasl_output: bool,
}

const HEVC: &str = "HEVC";

impl Hevc {
    fn starts_access_unit(nal: &[u8]) -> bool {
        let t = hevc_type(nal);
        let layer0 = nal.len() >= 2 && ((nal[0] & 1) << 5 | nal[1] >> 3) == 0;
        layer0
            && (matches!(t, 32..=35 | 39 | 41..=44 | 48..=55)
                || (t < 32 && nal.len() > 2 && nal[2] & 0x80 != 0))
    }

    /// Parameter sets are kept; the first slice of a picture gives the picture.
    fn nal(&mut self, nal: &[u8]) -> Result<Option<Picture>, StreamError> {
        if nal.len() < 3 || ((nal[0] & 1) << 5 | nal[1] >> 3) != 0 {
            return Ok(None);
        }
        let t = hevc_type(nal);
        match t {
            33 => self.sps(&rbsp(&nal[2..], usize::MAX))?,
            34 => self.pps(&rbsp(&nal[2..], usize::MAX))?,
            36 | 37 => self.after_eos = true,
            0..=9 | 16..=21 if nal[2] & 0x80 != 0 => {
                let tid = i64::from(nal[1] & 7) - 1;
                return self
                    .slice(t, tid, &rbsp(&nal[2..], SLICE_HEADER_BYTES))
                    .map(Some);
            }
            _ => {}
        }
        Ok(None)
    }

    fn sps(&mut self, data: &[u8]) -> Result<(), StreamError> {
        let mut b = Bits::new(data, HEVC);
        b.skip(4)?; // sps_video_parameter_set_id
        let max_sub_layers_minus1 = b.u(3)?;
        b.skip(1)?; // sps_temporal_id_nesting_flag
        // profile_tier_level: the general part, then what each sub-layer has.
        b.skip(96)?;
        let mut present = Vec::new();
        for _ in 0..max_sub_layers_minus1 {
            present.push((b.flag()?, b.flag()?));
        }
        if max_sub_layers_minus1 > 0 {
            b.skip(2 * (8 - max_sub_layers_minus1 as usize))?;
        }
        for (profile, level) in present {
            b.skip(if profile { 88 } else { 0 } + if level { 8 } else { 0 })?;
        }
        let id = b.ue()? as usize;
        let chroma_format_idc = b.ue()?;
        let separate_colour_plane = chroma_format_idc == 3 && b.flag()?;
        b.ue()?; // pic_width_in_luma_samples
        b.ue()?; // pic_height_in_luma_samples
        if b.flag()? {
            for _ in 0..4 {
                b.ue()?; // conformance window offsets
            }
        }
        b.ue()?; // bit_depth_luma_minus8
        b.ue()?; // bit_depth_chroma_minus8
        let log2_max_poc_lsb = b.ue()? + 4;
        let all_layers = b.flag()?;
        let mut reorder = 0;
        for _ in (if all_layers { 0 } else { max_sub_layers_minus1 })..=max_sub_layers_minus1 {
            b.ue()?; // sps_max_dec_pic_buffering_minus1
            reorder = b.ue()?;
            b.ue()?; // sps_max_latency_increase_plus1
        }
        if id > 15 || log2_max_poc_lsb > 16 {
            return Err(StreamError::Malformed(HEVC));
        }
        store(
            &mut self.sps,
            id,
            HevcSps {
                separate_colour_plane,
                log2_max_poc_lsb,
                reorder,
            },
        );
        Ok(())
    }

    fn pps(&mut self, data: &[u8]) -> Result<(), StreamError> {
        let mut b = Bits::new(data, HEVC);
        let id = b.ue()? as usize;
        let sps = b.ue()? as usize;
        b.skip(1)?; // dependent_slice_segments_enabled_flag
        let output_flag_present = b.flag()?;
        let extra_slice_header_bits = b.u(3)?;
        if id > 63 {
            return Err(StreamError::Malformed(HEVC));
        }
        store(
            &mut self.pps,
            id,
            HevcPps {
                sps,
                output_flag_present,
                extra_slice_header_bits,
            },
        );
        Ok(())
    }

    fn slice(&mut self, t: u8, tid: i64, data: &[u8]) -> Result<Picture, StreamError> {
        let mut b = Bits::new(data, HEVC);
        b.skip(1)?; // first_slice_segment_in_pic_flag
        let irap = (16..=23).contains(&t);
        if irap {
            b.skip(1)?; // no_output_of_prior_pics_flag
        }
        let pps = lookup(&self.pps, b.ue()? as usize, HEVC)?;
        let sps = lookup(&self.sps, pps.sps, HEVC)?;
        b.skip(pps.extra_slice_header_bits as usize)?;
        b.ue()?; // slice_type
        if pps.output_flag_present && !b.flag()? {
            return Err(StreamError::Unsupported("pictures marked not to be shown"));
        }
        if sps.separate_colour_plane {
            b.skip(2)?;
        }
        let idr = t == 19 || t == 20;
        let lsb = if idr {
            0
        } else {
            i64::from(b.u(sps.log2_max_poc_lsb)?)
        };
        // IDR and BLA pictures, and a CRA that starts the stream (or follows an end of
        // sequence), begin a coded video sequence.
        let resets = irap && (t <= 20 || !self.started || self.after_eos);
        if irap {
            self.irap_without_rasl_output = resets;
        }
        self.started = true;
        self.after_eos = false;
        let msb = if resets {
            self.cvs += 1;
            0
        } else {
            poc_msb(self.prev_tid0_poc, lsb, sps.log2_max_poc_lsb)
        };
        let poc = msb + lsb;
        // RASL, RADL and sub-layer non-reference pictures do not anchor the next POC.
        let rasl = t == 8 || t == 9;
        let not_anchor = rasl || t == 6 || t == 7 || (t <= 14 && t.is_multiple_of(2));
        if tid == 0 && !not_anchor {
            self.prev_tid0_poc = poc;
        }
        Ok(Picture {
            key: (self.cvs, poc),
            resets,
            keyframe: irap,
            skip: rasl && self.irap_without_rasl_output,
            reorder: sps.reorder,
        })
    }
}

fn hevc_type(nal: &[u8]) -> u8 {
    nal.first().map_or(63, |b| (b >> 1) & 0x3f)
}

/// PicOrderCntMsb from the previous anchor's POC (H.264 8.2.1.1, HEVC 8.3.1).
fn poc_msb(prev_poc: i64, lsb: i64, log2_max_lsb: u32) -> i64 {
    let max = 1i64 << log2_max_lsb;
    let prev_lsb = prev_poc.rem_euclid(max);
    let prev_msb = prev_poc - prev_lsb;
    if lsb < prev_lsb && prev_lsb - lsb >= max / 2 {
        prev_msb + max
    } else if lsb > prev_lsb && lsb - prev_lsb > max / 2 {
        prev_msb - max
    } else {
        prev_msb
    }
}

fn store<T>(table: &mut Vec<Option<T>>, id: usize, value: T) {
    if table.len() <= id {
        table.resize_with(id + 1, || None);
    }
    table[id] = Some(value);
}

fn lookup<T: Copy>(table: &[Option<T>], id: usize, codec: &'static str) -> Result<T, StreamError> {
    table
        .get(id)
        .copied()
        .flatten()
        .ok_or(StreamError::MissingParameterSet(codec))
}

#[derive(Clone, Copy)]
struct AvcSps {
    separate_colour_plane: bool,
    log2_max_frame_num: u32,
    poc_type: u32,
    log2_max_poc_lsb: u32,
    frame_mbs_only: bool,
    reorder: u32,
}

#[derive(Clone, Copy)]
struct AvcPps {
    sps: usize,
    bottom_field_poc_present: bool,
}

#[derive(Default)]
struct Avc {
    sps: Vec<Option<AvcSps>>,
    pps: Vec<Option<AvcPps>>,
    cvs: u64,
    /// POC of the previous reference picture (POC type 0).
    prev_ref_poc: i64,
    /// Pictures so far (POC type 2 shows them in decode order).
    count: i64,
}

const AVC: &str = "H.264";

impl Avc {
    fn starts_access_unit(nal: &[u8]) -> bool {
        let t = nal.first().map_or(0, |b| b & 0x1f);
        // A slice with first_mb_in_slice = 0 (its first bit set) begins a picture.
        matches!(t, 6..=9 | 14..=18) || ((t == 1 || t == 5) && nal.len() > 1 && nal[1] & 0x80 != 0)
    }

    fn nal(&mut self, nal: &[u8]) -> Result<Option<Picture>, StreamError> {
        if nal.len() < 2 {
            return Ok(None);
        }
        let t = nal[0] & 0x1f;
        let reference = nal[0] & 0x60 != 0;
        match t {
            7 => self.sps(&rbsp(&nal[1..], usize::MAX))?,
            8 => self.pps(&rbsp(&nal[1..], usize::MAX))?,
            2..=4 => return Err(StreamError::Unsupported("H.264 data partitioning")),
            1 | 5 if nal[1] & 0x80 != 0 => {
                return self
                    .slice(t == 5, reference, &rbsp(&nal[1..], SLICE_HEADER_BYTES))
                    .map(Some);
            }
            _ => {}
        }
        Ok(None)
    }

    fn sps(&mut self, data: &[u8]) -> Result<(), StreamError> {
        let mut b = Bits::new(data, AVC);
        let profile = b.u(8)?;
        b.skip(16)?; // constraint flags, level_idc
        let id = b.ue()? as usize;
        let mut separate_colour_plane = false;
        if matches!(
            profile,
            100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
        ) {
            let chroma_format_idc = b.ue()?;
            if chroma_format_idc == 3 {
                separate_colour_plane = b.flag()?;
            }
            b.ue()?; // bit_depth_luma_minus8
            b.ue()?; // bit_depth_chroma_minus8
            b.skip(1)?; // qpprime_y_zero_transform_bypass_flag
            if b.flag()? {
                for i in 0..if chroma_format_idc == 3 { 12 } else { 8 } {
                    if b.flag()? {
                        skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                    }
                }
            }
        }
        let log2_max_frame_num = b.ue()? + 4;
        let poc_type = b.ue()?;
        let mut log2_max_poc_lsb = 0;
        match poc_type {
            0 => log2_max_poc_lsb = b.ue()? + 4,
            2 => {}
            _ => {
                // Type 1 is refused at the first slice; nothing after it is needed.
                store(
                    &mut self.sps,
                    id,
                    AvcSps {
                        separate_colour_plane,
                        log2_max_frame_num,
                        poc_type,
                        log2_max_poc_lsb,
                        frame_mbs_only: true,
                        reorder: 0,
                    },
                );
                return Ok(());
            }
        }
        let max_ref_frames = b.ue()?;
        b.skip(1)?; // gaps_in_frame_num_value_allowed_flag
        b.ue()?; // pic_width_in_mbs_minus1
        b.ue()?; // pic_height_in_map_units_minus1
        let frame_mbs_only = b.flag()?;
        if !frame_mbs_only {
            b.skip(1)?; // mb_adaptive_frame_field_flag
        }
        b.skip(1)?; // direct_8x8_inference_flag
        if b.flag()? {
            for _ in 0..4 {
                b.ue()?; // frame cropping offsets
            }
        }
        // Without VUI bitstream restrictions, as much reordering as references allow.
        let mut reorder = if poc_type == 2 { 0 } else { max_ref_frames };
        if b.flag()?
            && let Some(r) = avc_vui_reorder(&mut b)?
        {
            reorder = r;
        }
        if id > 31 || log2_max_frame_num > 16 || log2_max_poc_lsb > 16 {
            return Err(StreamError::Malformed(AVC));
        }
        store(
            &mut self.sps,
            id,
            AvcSps {
                separate_colour_plane,
                log2_max_frame_num,
                poc_type,
                log2_max_poc_lsb,
                frame_mbs_only,
                reorder,
            },
        );
        Ok(())
    }

    fn pps(&mut self, data: &[u8]) -> Result<(), StreamError> {
        let mut b = Bits::new(data, AVC);
        let id = b.ue()? as usize;
        let sps = b.ue()? as usize;
        b.skip(1)?; // entropy_coding_mode_flag
        let bottom_field_poc_present = b.flag()?;
        if id > 255 {
            return Err(StreamError::Malformed(AVC));
        }
        store(
            &mut self.pps,
            id,
            AvcPps {
                sps,
                bottom_field_poc_present,
            },
        );
        Ok(())
    }

    fn slice(&mut self, idr: bool, reference: bool, data: &[u8]) -> Result<Picture, StreamError> {
        let mut b = Bits::new(data, AVC);
        b.ue()?; // first_mb_in_slice
        b.ue()?; // slice_type
        let pps = lookup(&self.pps, b.ue()? as usize, AVC)?;
        let sps = lookup(&self.sps, pps.sps, AVC)?;
        if sps.poc_type == 1 {
            return Err(StreamError::Unsupported("H.264 picture order count type 1"));
        }
        if sps.separate_colour_plane {
            b.skip(2)?;
        }
        b.skip(sps.log2_max_frame_num as usize)?; // frame_num
        if !sps.frame_mbs_only && b.flag()? {
            return Err(StreamError::Unsupported("H.264 field pictures"));
        }
        if idr {
            b.ue()?; // idr_pic_id
            self.cvs += 1;
            self.prev_ref_poc = 0;
        }
        self.count += 1;
        let poc = if sps.poc_type == 0 {
            let lsb = i64::from(b.u(sps.log2_max_poc_lsb)?);
            let top = poc_msb(self.prev_ref_poc, lsb, sps.log2_max_poc_lsb) + lsb;
            let bottom = if pps.bottom_field_poc_present {
                top + b.se()?
            } else {
                top
            };
            // memory_management_control_operation 5 (a POC reset) is not looked for: it
            // sits far into the header and encoders writing progressive video avoid it.
            if reference {
                self.prev_ref_poc = top;
            }
            top.min(bottom)
        } else {
            self.count
        };
        Ok(Picture {
            key: (self.cvs, poc),
            resets: idr,
            keyframe: idr,
            skip: false,
            reorder: sps.reorder,
        })
    }
}

fn skip_scaling_list(b: &mut Bits, size: usize) -> Result<(), StreamError> {
    let (mut last, mut next) = (8i64, 8i64);
    for _ in 0..size {
        if next != 0 {
            next = (last + b.se()?).rem_euclid(256);
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// `max_num_reorder_frames` from the VUI, when it has bitstream restrictions.
fn avc_vui_reorder(b: &mut Bits) -> Result<Option<u32>, StreamError> {
    if b.flag()? && b.u(8)? == 255 {
        b.skip(32)?; // sar_width, sar_height
    }
    if b.flag()? {
        b.skip(1)?; // overscan_appropriate_flag
    }
    if b.flag()? {
        b.skip(4)?; // video_format, video_full_range_flag
        if b.flag()? {
            b.skip(24)?; // colour description
        }
    }
    if b.flag()? {
        b.ue()?; // chroma_sample_loc_type_top_field
        b.ue()?; // chroma_sample_loc_type_bottom_field
    }
    if b.flag()? {
        b.skip(65)?; // num_units_in_tick, time_scale, fixed_frame_rate_flag
    }
    let nal_hrd = b.flag()?;
    if nal_hrd {
        skip_hrd(b)?;
    }
    let vcl_hrd = b.flag()?;
    if vcl_hrd {
        skip_hrd(b)?;
    }
    if nal_hrd || vcl_hrd {
        b.skip(1)?; // low_delay_hrd_flag
    }
    b.skip(1)?; // pic_struct_present_flag
    if !b.flag()? {
        return Ok(None);
    }
    b.skip(1)?; // motion_vectors_over_pic_boundaries_flag
    for _ in 0..4 {
        b.ue()?; // max_bytes_per_pic_denom … log2_max_mv_length_vertical
    }
    Ok(Some(b.ue()?))
}

fn skip_hrd(b: &mut Bits) -> Result<(), StreamError> {
    let count = b.ue()? + 1;
    b.skip(8)?; // bit_rate_scale, cpb_size_scale
    for _ in 0..count.min(32) {
        b.ue()?;
        b.ue()?;
        b.skip(1)?;
    }
    b.skip(20)
}

enum Parser {
    Avc(Avc),
    Hevc(Hevc),
}

struct Pending {
    data: Vec<u8>,
    key: (u64, i64),
    decode: u64,
    pts: Option<u64>,
    keyframe: bool,
}

/// Turns an Annex B stream, fed in pieces as it comes, into timestamped access units.
pub(crate) struct Timestamper {
    splitter: Splitter,
    parser: Parser,
    /// The access unit being gathered, and its picture once its first slice came.
    au: Vec<u8>,
    picture: Option<Picture>,
    queue: VecDeque<Pending>,
    decoded: u64,
    shown: u64,
    /// Frames by which decode times run behind presentation times.
    delay: Option<u64>,
}

impl Timestamper {
    /// For the two codecs whose raw streams have no timestamps (`None` for the others).
    pub(crate) fn for_codec(codec: Codec) -> Option<Self> {
        let parser = match codec {
            Codec::H264 => Parser::Avc(Avc::default()),
            Codec::Hevc => Parser::Hevc(Hevc::default()),
            Codec::Av1 | Codec::Vp9 => return None,
        };
        Some(Timestamper {
            splitter: Splitter::default(),
            parser,
            au: Vec::new(),
            picture: None,
            queue: VecDeque::new(),
            decoded: 0,
            shown: 0,
            delay: None,
        })
    }

    /// Takes the next bytes of the stream; access units whose times are known go to `out`.
    pub(crate) fn push(&mut self, data: &[u8], out: &mut Vec<Packet>) -> Result<(), StreamError> {
        let mut nals = Vec::new();
        self.splitter.push(data, &mut nals);
        for nal in nals {
            self.nal(&nal, out)?;
        }
        Ok(())
    }

    /// The stream ended: everything left goes to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<Packet>) -> Result<(), StreamError> {
        let mut nals = Vec::new();
        self.splitter.finish(&mut nals);
        for nal in nals {
            self.nal(&nal, out)?;
        }
        self.end_access_unit();
        while self.show_next() {}
        self.release(out);
        Ok(())
    }

    fn nal(&mut self, nal: &[u8], out: &mut Vec<Packet>) -> Result<(), StreamError> {
        if nal.is_empty() {
            return Ok(());
        }
        let starts = match self.parser {
            Parser::Avc(_) => Avc::starts_access_unit(nal),
            Parser::Hevc(_) => Hevc::starts_access_unit(nal),
        };
        if starts && self.picture.is_some() {
            self.end_access_unit();
            self.release(out);
        }
        let picture = match &mut self.parser {
            Parser::Avc(p) => p.nal(nal)?,
            Parser::Hevc(p) => p.nal(nal)?,
        };
        if let Some(p) = picture
            && self.picture.is_none()
        {
            self.picture = Some(p);
        }
        self.au.extend_from_slice(&[0, 0, 0, 1]);
        self.au.extend_from_slice(nal);
        Ok(())
    }

    fn end_access_unit(&mut self) {
        let data = std::mem::take(&mut self.au);
        let Some(p) = self.picture.take() else {
            return; // parameter sets or SEI with no picture after them: nothing to show
        };
        if p.skip {
            return;
        }
        if p.resets {
            while self.show_next() {}
        }
        self.delay.get_or_insert(u64::from(p.reorder));
        self.queue.push_back(Pending {
            data,
            key: p.key,
            decode: self.decoded,
            pts: None,
            keyframe: p.keyframe,
        });
        self.decoded += 1;
        if self.queue.iter().filter(|q| q.pts.is_none()).count() > REORDER_WINDOW {
            self.show_next();
        }
    }

    /// Gives the next presentation time to the waiting picture that comes first in POC order.
    fn show_next(&mut self) -> bool {
        let Some(next) = self
            .queue
            .iter_mut()
            .filter(|q| q.pts.is_none())
            .min_by_key(|q| q.key)
        else {
            return false;
        };
        next.pts = Some(self.shown);
        self.shown += 1;
        true
    }

    /// Hands out, in decode order, the access units whose times are known.
    fn release(&mut self, out: &mut Vec<Packet>) {
        let delay = self.delay.unwrap_or(0);
        while let Some(Pending { pts: Some(_), .. }) = self.queue.front() {
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            let pts = q.pts.unwrap_or_default() + delay;
            out.push(Packet {
                data: q.data,
                pts,
                // A stream that reorders more than it declares still gets dts ≤ pts.
                dts: q.decode.min(pts),
                keyframe: q.keyframe,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_golomb_and_emulation_prevention() {
        // 1 → 0; 010 → 1; 011 → 2; 00100 → 3 (se: -1... here ue)
        let data = [0b1010_0110, 0b0100_0000];
        let mut b = Bits::new(&data, "t");
        assert_eq!(
            (
                b.ue().unwrap(),
                b.ue().unwrap(),
                b.ue().unwrap(),
                b.ue().unwrap()
            ),
            (0, 1, 2, 3)
        );
        assert_eq!(rbsp(&[0, 0, 3, 1, 0, 0, 3, 0], 100), vec![0, 0, 1, 0, 0, 0]);
        assert_eq!(poc_msb(250, 2, 8), 256);
        assert_eq!(poc_msb(258, 254, 8), 0);
    }

    #[test]
    fn nal_units_are_split_across_pieces() {
        let stream = [0, 0, 0, 1, 0x40, 1, 0, 0, 1, 0x42, 0, 0, 0, 0, 1, 0x44, 9];
        for cut in 0..stream.len() {
            let mut s = Splitter::default();
            let mut nals = Vec::new();
            s.push(&stream[..cut], &mut nals);
            s.push(&stream[cut..], &mut nals);
            s.finish(&mut nals);
            assert_eq!(
                nals,
                vec![vec![0x40, 1], vec![0x42], vec![0x44, 9]],
                "cut {cut}"
            );
        }
    }
}
