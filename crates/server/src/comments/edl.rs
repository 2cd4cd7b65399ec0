//! Markers as a CMX3600 EDL, the form DaVinci Resolve reads with "Import timeline markers from
//! EDL" (and writes with "Export timeline markers to EDL"): one one-frame event per marker, with
//! the marker on the line under it (`|C:colour |M:name |D:duration`). Premiere imports the same
//! file as a sequence of events.

use super::smpte::TimecodeRate;

/// One marker: where (frames from the timeline start) and what it says.
pub struct Marker {
    pub frame: i64,
    pub text: String,
}

/// Marker text on one line, without the `|` that separates marker fields; at most 200
/// characters.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| match c {
            '|' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined = words.join(" ");
    match joined.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &joined[..cut]),
        None => joined,
    }
}

/// The EDL: `title`, the timeline's first frame `start` (frames, as `rate` labels them) and the
/// markers in order.
pub fn write(title: &str, rate: TimecodeRate, start: i64, markers: &[Marker]) -> String {
    let mut out = format!("TITLE: {}\n", one_line(title));
    out.push_str(if rate.is_drop_frame() {
        "FCM: DROP FRAME\n"
    } else {
        "FCM: NON-DROP FRAME\n"
    });
    for (i, m) in markers.iter().enumerate() {
        let tc_in = rate.format(start + m.frame);
        let tc_out = rate.format(start + m.frame + 1);
        out.push_str(&format!(
            "\n{:03}  001      V     C        {tc_in} {tc_out} {tc_in} {tc_out}  \n",
            i + 1
        ));
        out.push_str(&format!(
            " |C:ResolveColorBlue |M:{} |D:1\n",
            one_line(&m.text)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_one_line_without_separators() {
        assert_eq!(one_line("a\nb\r\n  c|d\te"), "a b c/d e");
        assert_eq!(one_line("\u{0}x"), "x");
        let long = "é".repeat(300);
        let cut = one_line(&long);
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn events_and_markers() {
        let rate = TimecodeRate::for_fps(25.0).unwrap();
        let start = rate.parse("01:00:00:00").unwrap();
        let edl = write(
            "Scene 1\ntake 2",
            rate,
            start,
            &[
                Marker {
                    frame: 0,
                    text: "first".into(),
                },
                Marker {
                    frame: 37,
                    text: "alice: too dark | fix".into(),
                },
            ],
        );
        let expected = "TITLE: Scene 1 take 2\n\
            FCM: NON-DROP FRAME\n\
            \n\
            001  001      V     C        01:00:00:00 01:00:00:01 01:00:00:00 01:00:00:01  \n \
            |C:ResolveColorBlue |M:first |D:1\n\
            \n\
            002  001      V     C        01:00:01:12 01:00:01:13 01:00:01:12 01:00:01:13  \n \
            |C:ResolveColorBlue |M:alice: too dark / fix |D:1\n";
        assert_eq!(edl, expected);
    }

    #[test]
    fn drop_frame_header_and_labels() {
        let rate = TimecodeRate::for_fps(30000.0 / 1001.0).unwrap();
        let edl = write(
            "x",
            rate,
            0,
            &[Marker {
                frame: 1799,
                text: "m".into(),
            }],
        );
        assert!(edl.contains("FCM: DROP FRAME"));
        assert!(edl.contains("00:00:59;29 00:01:00;02"), "{edl}");
    }
}
