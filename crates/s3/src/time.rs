//! UTC timestamps in the two forms SigV4 needs (`20130524T000000Z` and `20130524`), without a
//! date crate: the proleptic Gregorian calendar from days since 1970.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UtcTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl UtcTime {
    pub(crate) fn from_system(t: SystemTime) -> UtcTime {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs() as i64;
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        UtcTime {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    pub(crate) fn now() -> UtcTime {
        UtcTime::from_system(SystemTime::now())
    }

    /// `YYYYMMDDTHHMMSSZ`, the `x-amz-date` form.
    pub(crate) fn amz_date(&self) -> String {
        format!(
            "{}T{:02}{:02}{:02}Z",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )
    }

    /// `YYYYMMDD`, the credential scope's date.
    pub(crate) fn date(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }

    /// Parses the `x-amz-date` form, for the fixed times of tests.
    #[cfg(test)]
    pub(crate) fn parse_amz(s: &str) -> Option<UtcTime> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let t = UtcTime {
            year: num(0..4)? as i64,
            month: num(4..6)?,
            day: num(6..8)?,
            hour: num(9..11)?,
            minute: num(11..13)?,
            second: num(13..15)?,
        };
        let valid = (1..=12).contains(&t.month)
            && (1..=31).contains(&t.day)
            && t.hour < 24
            && t.minute < 60
            && t.second < 60;
        valid.then_some(t)
    }
}

/// Days since 1970-01-01 to (year, month, day), by Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let at = |secs: u64| UtcTime::from_system(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0).amz_date(), "19700101T000000Z");
        assert_eq!(at(1_369_353_600).amz_date(), "20130524T000000Z");
        assert_eq!(at(1_440_938_160).amz_date(), "20150830T123600Z");
        // A leap day and the last second of a century year that is a leap year.
        assert_eq!(at(951_782_400).amz_date(), "20000229T000000Z");
        assert_eq!(at(978_307_199).amz_date(), "20001231T235959Z");
        assert_eq!(at(4_107_542_400).amz_date(), "21000301T000000Z");
    }

    #[test]
    fn agrees_with_httpdate_over_many_days() {
        for day in (0..60_000u64).step_by(37) {
            let t = UNIX_EPOCH + Duration::from_secs(day * 86_400 + 3_723);
            let ours = UtcTime::from_system(t);
            let back = UtcTime::parse_amz(&ours.amz_date()).unwrap();
            assert_eq!(ours, back);
            // httpdate: "Sun, 06 Nov 1994 08:49:37 GMT"
            let http = httpdate::fmt_http_date(t);
            let months = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ];
            let expected = format!(
                "{:02} {} {}",
                ours.day,
                months[ours.month as usize - 1],
                ours.year
            );
            assert!(http.contains(&expected), "{http} vs {expected}");
        }
    }

    #[test]
    fn parse_refuses_malformed() {
        assert!(UtcTime::parse_amz("20130524T000000").is_none());
        assert!(UtcTime::parse_amz("20131324T000000Z").is_none());
        assert!(UtcTime::parse_amz("2013052xT000000Z").is_none());
        assert!(UtcTime::parse_amz("2013-05-24T00:00Z").is_none());
    }
}
