//! The formatter on any text: it refuses what does not parse; what it formats parses,
//! and formatting it again changes nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(once) = plumb_fmt::format(text) {
        let twice = plumb_fmt::format(&once).expect("the formatted text parses");
        assert_eq!(once, twice, "formatting is not idempotent");
    }
});
