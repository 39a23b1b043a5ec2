//! Durations as specs and target options write them.

use std::time::Duration;

/// Parses `30s`, `500ms`, `2m`, `1h`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 30s, 500ms, 2m"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{text:?} is not a duration like 30s, 500ms, 2m")),
    };
    if !secs.is_finite() || secs > 86_400.0 * 7.0 {
        return Err(format!("{text:?} is not a reasonable duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}
