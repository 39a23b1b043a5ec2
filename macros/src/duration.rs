//! The duration grammar of `timeout`/`interval` attributes, checked when a
//! test is compiled. It is the grammar `infraspec::spec::yaml::parse_duration`
//! reads at run time (a number with `.`, then `ms`, `s`, `m`, `h` or nothing,
//! at most 7 days): infraspec's unit tests compile this file beside that
//! function and hold the two to the same answers, so that what compiles never
//! panics when it runs.

/// Whether `text` is a duration both grammars accept.
pub fn is_duration(text: &str) -> bool {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let Ok(n) = num.parse::<f64>() else {
        return false;
    };
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return false,
    };
    secs.is_finite() && secs <= 86_400.0 * 7.0
}
