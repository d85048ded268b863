//! Times and durations on the command line: Unix seconds or RFC 3339 for a moment,
//! `90s`, `10m`, `1h30m`, `2d` for a duration. No date crate for two parsers.

/// A moment as Unix seconds: digits (`1767312000`) or RFC 3339
/// (`2026-01-02T00:00:00Z`, `2026-01-02 01:00:00+01:00`, fractions of a second dropped).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let t = text.trim();
    if !t.is_empty()
        && t.trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return t
            .parse()
            .map_err(|_| format!("{t:?} is out of range for Unix seconds"));
    }
    rfc3339(t).ok_or_else(|| {
        format!(
            "{t:?} is neither Unix seconds nor an RFC 3339 time (like 2026-06-01T19:30:00Z or \
             2026-06-01T21:30:00+02:00)"
        )
    })
}

/// A duration in seconds: a number with a unit (`s`, `m`, `h`, `d`), several in a row
/// (`1h30m`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let bad = || format!("{t:?} is not a duration (like 90s, 10m, 2h, 1h30m, 3d)");
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().map_err(|_| bad());
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        let n: i64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(bad)?;
        number.clear();
    }
    if number.is_empty() {
        Ok(total)
    } else {
        Err(bad())
    }
}

/// `YYYY-MM-DD[T ]hh:mm:ss[.frac](Z|±hh:mm)`.
fn rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let s = t.get(from..from + len)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = (num_in(rest, 1)?, num_in(rest, 4)?);
            if rest.len() != 6 || rest.as_bytes()[3] != b':' || oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + min * 60 + sec.min(59) - offset)
}

/// Two digits of `s` at `from`.
fn num_in(s: &str, from: usize) -> Option<i64> {
    let d = s.get(from..from + 2)?;
    d.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| d.parse().ok())?
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, the
/// inverse of `render::utc`'s).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_in_unix_seconds_or_rfc_3339() {
        assert_eq!(parse_time("1800000000"), Ok(1_800_000_000));
        assert_eq!(parse_time("2027-01-15T08:00:00Z"), Ok(1_800_000_000));
        assert_eq!(parse_time("2027-01-15 09:00:00+01:00"), Ok(1_800_000_000));
        assert_eq!(
            parse_time("2027-01-15T03:30:00.250-04:30"),
            Ok(1_800_000_000)
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        for bad in [
            "",
            "tomorrow",
            "2027-01-15",
            "2027-01-15T08:00:00",
            "2027-02-29T00:00:00Z",
            "2027-13-01T00:00:00Z",
            "2027-01-15T24:00:00Z",
            "2027-01-15T08:00:00+1:00",
            "2027-01-15T08:00:00.Z",
        ] {
            let e = parse_time(bad).unwrap_err();
            assert!(e.contains("RFC 3339"), "{bad}: {e}");
        }
        for s in [0, 951_782_400, 1_800_000_000, 4_102_444_800] {
            // render::utc's text, back through the parser.
            let text = crate::render::utc(s).replace(' ', "T").replace("TUTC", "Z");
            assert_eq!(parse_time(&text), Ok(s), "{text}");
        }
    }

    #[test]
    fn durations_with_units() {
        assert_eq!(parse_duration("90"), Ok(90));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("2d"), Ok(172_800));
        assert_eq!(parse_duration("0s"), Ok(0));
        for bad in [
            "",
            "m",
            "10x",
            "1h30",
            "-5m",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
