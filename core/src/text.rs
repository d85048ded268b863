//! Text from outside (holder names, seat labels, event names): the one rule for what is
//! accepted, and how anything else is shown in a terminal.
//!
//! A ticket's texts travel from the box office to the issuer, the wallet, the gate bundle
//! and a door person's screen. A control character in them can clear or rewrite a
//! terminal (`ESC [2J`), a bidirectional override can make one name read as another at
//! an ID check, and an invisible character can hide a difference. So every place where a
//! name or seat enters (the issuer's API, the wallet's sync and install) applies
//! [`check_name`] / [`check_seat`], and every place that prints one to a terminal uses
//! [`escape`] in case older or hostile data got past that. docs/DECISIONS.md ("Names and
//! seats refuse controls…") says why the rule is this one.
//!
//! Refused, wherever they stand ([`is_refused`]):
//! - general category **Cc**: the C0 controls U+0000–U+001F (NUL, TAB, LF, CR, ESC…),
//!   DEL U+007F and the C1 controls U+0080–U+009F (NEL, CSI…);
//! - general category **Cf**, format characters: every bidirectional control (U+061C,
//!   U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the invisible ones (soft hyphen,
//!   zero-width space, word joiner, byte-order mark, tags…), **except** the zero-width
//!   non-joiner U+200C and joiner U+200D, which Persian, Indic scripts and emoji
//!   sequences need;
//! - **Zl** U+2028 and **Zp** U+2029, the line and paragraph separators.
//!
//! A name (holder or event) also needs one visible character: a text of only white space
//! and default-ignorable code points (joiners, variation selectors, Hangul fillers) is
//! blank. A seat may be empty (general admission), but not blank. Lengths are checked
//! where they were before (`MAX_SEAT_LEN`, each component's name limit), in UTF-8 bytes.
//! The tables follow Unicode 16.0.

use std::borrow::Cow;
use std::fmt;

/// General category Cf (Unicode 16.0), without U+200C and U+200D.
const FORMAT: &[(char, char)] = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{600}', '\u{605}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{6dd}', '\u{6dd}'),
    ('\u{70f}', '\u{70f}'),
    ('\u{890}', '\u{891}'),
    ('\u{8e2}', '\u{8e2}'),
    ('\u{180e}', '\u{180e}'),
    ('\u{200b}', '\u{200b}'),
    ('\u{200e}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{fff9}', '\u{fffb}'),
    ('\u{110bd}', '\u{110bd}'),
    ('\u{110cd}', '\u{110cd}'),
    ('\u{13430}', '\u{1343f}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0001}', '\u{e0001}'),
    ('\u{e0020}', '\u{e007f}'),
];

/// Default_Ignorable_Code_Point (Unicode 16.0): what renders as nothing.
const IGNORABLE: &[(char, char)] = &[
    ('\u{ad}', '\u{ad}'),
    ('\u{34f}', '\u{34f}'),
    ('\u{61c}', '\u{61c}'),
    ('\u{115f}', '\u{1160}'),
    ('\u{17b4}', '\u{17b5}'),
    ('\u{180b}', '\u{180f}'),
    ('\u{200b}', '\u{200f}'),
    ('\u{202a}', '\u{202e}'),
    ('\u{2060}', '\u{206f}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{fe00}', '\u{fe0f}'),
    ('\u{feff}', '\u{feff}'),
    ('\u{ffa0}', '\u{ffa0}'),
    ('\u{fff0}', '\u{fff8}'),
    ('\u{1bca0}', '\u{1bca3}'),
    ('\u{1d173}', '\u{1d17a}'),
    ('\u{e0000}', '\u{e0fff}'),
];

fn in_table(table: &[(char, char)], c: char) -> bool {
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether `c` is refused in names and seats: a control (Cc), a format character (Cf)
/// other than ZWNJ and ZWJ, or a line or paragraph separator (module docs).
pub fn is_refused(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || in_table(FORMAT, c)
}

/// Whether `c` shows nothing: white space or a default-ignorable code point.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || in_table(IGNORABLE, c)
}

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextError {
    /// Empty, or nothing in it is visible.
    Blank,
    /// It holds a refused character ([`is_refused`]) at this byte offset.
    Refused {
        /// The character.
        ch: char,
        /// Its UTF-8 byte offset in the text.
        at: usize,
    },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blank => f.write_str("is empty or has no visible character"),
            Self::Refused { ch, at } => write!(
                f,
                "contains U+{:04X} at byte {at}: control, bidirectional and invisible \
                 formatting characters are not allowed",
                u32::from(*ch)
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// A refused text, with the field it was in (`holder name`, `seat label`, `event name`…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{field} {why}")]
pub struct FieldError {
    /// The field, in words.
    pub field: &'static str,
    /// What is wrong with it.
    pub why: TextError,
}

/// The first refused character of `text`, if any.
fn first_refused(text: &str) -> Result<(), TextError> {
    match text.char_indices().find(|&(_, c)| is_refused(c)) {
        Some((at, ch)) => Err(TextError::Refused { ch, at }),
        None => Ok(()),
    }
}

/// Checks a name (holder name, event name, an audit reason): no refused character, and at
/// least one visible one. `field` names it in the error.
pub fn check_name(field: &'static str, text: &str) -> Result<(), FieldError> {
    let why = match first_refused(text) {
        Err(why) => why,
        Ok(()) if text.chars().all(is_blank) => TextError::Blank,
        Ok(()) => return Ok(()),
    };
    Err(FieldError { field, why })
}

/// Checks a holder name ([`check_name`]).
pub fn check_holder_name(name: &str) -> Result<(), FieldError> {
    check_name("holder name", name)
}

/// Checks an event name ([`check_name`]).
pub fn check_event_name(name: &str) -> Result<(), FieldError> {
    check_name("event name", name)
}

/// Checks a seat label: empty (general admission), or a name ([`check_name`]).
pub fn check_seat(seat: &str) -> Result<(), FieldError> {
    if seat.is_empty() {
        return Ok(());
    }
    check_name("seat label", seat)
}

/// Checks the texts of one ticket: its seat and, when it has one, its holder name.
pub fn check_ticket_text(seat: &str, holder_name: Option<&str>) -> Result<(), FieldError> {
    check_seat(seat)?;
    holder_name.map_or(Ok(()), check_holder_name)
}

/// `text` safe for a terminal: every refused character ([`is_refused`]) written as a Rust
/// escape such as `\u{1b}` or `\u{202e}`, everything else as it is. Borrowed when there is
/// nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_refused) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_refused(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_disjoint() {
        for table in [FORMAT, IGNORABLE] {
            for w in table.windows(2) {
                assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:?}");
            }
        }
    }

    #[test]
    fn controls_bidi_invisible_and_separators_are_refused() {
        let refused = [
            '\0',
            '\t',
            '\n',
            '\r',
            '\u{1b}',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9b}',
            '\u{9f}',
            '\u{ad}',
            '\u{600}',
            '\u{61c}',
            '\u{180e}',
            '\u{200b}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2028}',
            '\u{2029}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{206f}',
            '\u{feff}',
            '\u{fff9}',
            '\u{fffb}',
            '\u{110bd}',
            '\u{1343f}',
            '\u{1d17a}',
            '\u{e0001}',
            '\u{e0020}',
            '\u{e007f}',
        ];
        for c in refused {
            assert!(is_refused(c), "U+{:04X}", u32::from(c));
            assert_eq!(
                check_holder_name(&format!("Ada{c}")),
                Err(FieldError {
                    field: "holder name",
                    why: TextError::Refused { ch: c, at: 3 }
                })
            );
        }
        let allowed = [
            ' ',
            'a',
            'é',
            '\u{a0}',
            '\u{200c}',
            '\u{200d}',
            '\u{2065}',
            '\u{2070}',
            '\u{fe0f}',
            '\u{fffc}',
            '\u{e000}',
            '\u{e0000}',
            '\u{e0080}',
            '\u{e0100}',
            '李',
            '🎟',
        ];
        for c in allowed {
            assert!(!is_refused(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn names_need_a_visible_character_seats_may_be_empty() {
        for blank in [
            "",
            " ",
            "\u{3000}",
            "\u{200d}",
            "\u{3164}",
            "\u{fe0f}\u{34f}",
        ] {
            assert_eq!(
                check_event_name(blank).map_err(|e| e.why),
                Err(TextError::Blank)
            );
            if !blank.is_empty() {
                assert!(check_seat(blank).is_err(), "{blank:?}");
            }
        }
        assert_eq!(check_seat(""), Ok(()));
        assert_eq!(check_ticket_text("", None), Ok(()));
        for fine in [
            "Ada Lovelace",
            "مهسا\u{200c}رضایی",
            "👩\u{200d}👧",
            "Row 4 · Seat 12",
        ] {
            assert_eq!(check_ticket_text(fine, Some(fine)), Ok(()), "{fine:?}");
        }
        assert_eq!(
            check_ticket_text("A1", Some("\u{202e}x"))
                .map_err(|e| e.to_string())
                .unwrap_err(),
            "holder name contains U+202E at byte 0: control, bidirectional and invisible \
             formatting characters are not allowed"
        );
        assert_eq!(
            check_ticket_text(" ", Some("Ada")).map_err(|e| e.to_string()),
            Err("seat label is empty or has no visible character".into())
        );
    }

    #[test]
    fn escape_shows_refused_characters_as_code_points() {
        assert!(matches!(escape("Row 4 · Seat 12"), Cow::Borrowed(_)));
        assert_eq!(escape("\u{1b}[2Jx"), "\\u{1b}[2Jx");
        assert_eq!(
            escape("a\u{202e}b\u{9b}c\u{0}"),
            "a\\u{202e}b\\u{9b}c\\u{0}"
        );
        assert_eq!(escape("👩\u{200d}👧"), "👩\u{200d}👧");
        for c in ('\0'..='\u{10ffff}').filter(|c| is_refused(*c)) {
            let e = escape(&c.to_string()).into_owned();
            assert!(e.is_ascii() && !e.chars().any(|c| c.is_control()), "{e:?}");
        }
    }
}
