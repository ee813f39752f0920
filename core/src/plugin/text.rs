//! Text that came from a plugin (or through one) and may reach a terminal.
//!
//! A plugin's strings are untrusted bytes: they may carry terminal escape
//! sequences (rewriting the screen, the window title, the clipboard),
//! carriage returns (overwriting a line with a forged one), bidirectional
//! overrides (showing text in another order than it is), or megabytes.
//! Everything a plugin says passes through [`clean`] before alca keeps it
//! or shows it: control characters become visible escapes and the length
//! is capped, with a note saying how much was cut.

/// The longest single line of plugin text alca keeps (a log line, a reason).
pub const LINE: usize = 1024;
/// The longest multi-line plugin text alca keeps (an error with stderr).
pub const BLOCK: usize = 16 * 1024;

/// `s` with control characters escaped and at most `max` bytes kept.
/// `multiline` keeps `\n` (and `\t`); everything else below U+0020, DEL,
/// the C1 controls and the bidirectional formatting characters become
/// `\u{..}` escapes.
pub fn clean(s: &str, multiline: bool, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 16);
    let mut cut_at = None;
    for (i, c) in s.char_indices() {
        if out.len() >= max {
            cut_at = Some(i);
            break;
        }
        match c {
            '\n' | '\t' if multiline => out.push(c),
            c if is_unsafe(c) => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    if let Some(i) = cut_at {
        out.push_str(&format!("… ({} more bytes cut)", s.len() - i));
    }
    out
}

/// A single line: newlines escaped too.
pub fn line(s: &str) -> String {
    clean(s, false, LINE)
}

/// Several lines (an error message with a stderr tail).
pub fn block(s: &str) -> String {
    clean(s, true, BLOCK)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_caps() {
        assert_eq!(line("plain text"), "plain text");
        assert_eq!(line("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(line("ok\rforged"), "ok\\u{d}forged");
        assert_eq!(line("two\nlines"), "two\\u{a}lines");
        assert_eq!(block("two\nlines\r"), "two\nlines\\u{d}");
        assert_eq!(line("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(line("abc\u{202E}fed"), "abc\\u{202e}fed");
        assert_eq!(line("\u{7f}"), "\\u{7f}");
        let long = "x".repeat(5000);
        let s = line(&long);
        assert!(s.len() < 1100, "{}", s.len());
        assert!(s.ends_with("(3976 more bytes cut)"), "{s}");
    }
}
