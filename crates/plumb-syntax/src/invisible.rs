//! Characters a reader cannot see, or that rewrite what is shown: bidirectional
//! controls, zero-width characters, line separators YAML 1.1 breaks at, and terminal
//! controls (Trojan Source).

/// The name of an invisible, bidirectional or control character (PL6007 reports each in
/// a source; the importer writes each as an escape, `\\u{1B}`), if `c` is one.
pub fn name(c: char) -> Option<&'static str> {
    // the common case, asked of every character of every string: printable ASCII
    if (' '..='~').contains(&c) {
        return None;
    }
    Some(match c {
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{061C}' => "ARABIC LETTER MARK",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}'..='\u{2064}' => "INVISIBLE OPERATOR",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{00AD}' => "SOFT HYPHEN",
        // fillers that draw nothing and are letters to most languages' identifiers
        // (the "invisible backdoor" of a variable named with one)
        '\u{3164}' => "HANGUL FILLER",
        '\u{115F}' => "HANGUL CHOSEONG FILLER",
        '\u{1160}' => "HANGUL JUNGSEONG FILLER",
        '\u{FFA0}' => "HALFWIDTH HANGUL FILLER",
        '\u{2800}' => "BRAILLE PATTERN BLANK",
        '\u{034F}' => "COMBINING GRAPHEME JOINER",
        '\u{17B4}' | '\u{17B5}' => "KHMER VOWEL INHERENT",
        '\u{1D173}'..='\u{1D17A}' => "MUSICAL SYMBOL FORMAT CONTROL",
        // YAML 1.1 (GitLab's reader) ends a line at each, editors do not: a script line
        // can hide keys GitLab reads (`echo ok<LS>  image: evil`)
        '\u{2028}' => "LINE SEPARATOR (a line break to GitLab's YAML reader)",
        '\u{2029}' => "PARAGRAPH SEPARATOR (a line break to GitLab's YAML reader)",
        '\u{E0000}'..='\u{E007F}' => "TAG CHARACTER",
        // terminal controls: `ESC [2K` and a carriage return rewrite the line shown
        '\u{1B}' => "ESCAPE",
        '\u{7}' => "BELL",
        '\u{8}' => "BACKSPACE",
        '\r' => "CARRIAGE RETURN",
        '\u{7F}' => "DELETE",
        '\u{0}'..='\u{1F}' if c != '\t' && c != '\n' => "CONTROL CHARACTER",
        '\u{80}'..='\u{9F}' => "C1 CONTROL CHARACTER",
        _ => return None,
    })
}
