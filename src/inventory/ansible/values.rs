//! Values as Ansible types them: INI values through Python's
//! `ast.literal_eval` (what the INI plugin calls on every value), plain YAML
//! scalars by YAML 1.1's implicit types (PyYAML's, which Ansible's loader
//! uses: `yes` and `on` are booleans, `012` is octal), and Ansible's
//! `boolean()` for the variables that switch something on.

use serde_json::Value;

/// A value of an INI inventory: what `ast.literal_eval` makes of `text`
/// (numbers, strings in quotes, `True`, `False`, `None`, lists, tuples,
/// dicts and sets of those), or the text itself where it is no literal.
pub fn ini_value(text: &str) -> Value {
    let mut p = Literal {
        chars: text.chars().collect(),
        at: 0,
        depth: 0,
    };
    p.skip_space();
    match p.value() {
        Some(v) => {
            p.skip_space();
            if p.at == p.chars.len() {
                v
            } else {
                Value::String(text.to_string())
            }
        }
        None => Value::String(text.to_string()),
    }
}

struct Literal {
    chars: Vec<char>,
    at: usize,
    depth: usize,
}

impl Literal {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        let v = match self.peek()? {
            '[' => self.sequence('[', ']').map(Value::Array),
            '(' => self.sequence('(', ')').map(Value::Array),
            '{' => self.braces(),
            '\'' | '"' => self.string().map(Value::String),
            'r' | 'R' | 'u' | 'U' | 'b' | 'B'
                if matches!(self.chars.get(self.at + 1), Some('\'' | '"')) =>
            {
                let prefix = self.chars[self.at].to_ascii_lowercase();
                self.at += 1;
                if prefix == 'r' {
                    self.raw_string().map(Value::String)
                } else {
                    self.string().map(Value::String)
                }
            }
            '+' | '-' => {
                let negative = self.peek() == Some('-');
                self.at += 1;
                self.skip_space();
                match self.number()? {
                    Value::Number(n) if negative => negate(&n),
                    n @ Value::Number(_) => Some(n),
                    _ => None,
                }
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => self.name(),
        };
        self.depth -= 1;
        v
    }

    fn name(&mut self) -> Option<Value> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        let word: String = self.chars[start..self.at].iter().collect();
        match word.as_str() {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => None,
        }
    }

    fn sequence(&mut self, open: char, close: char) -> Option<Vec<Value>> {
        debug_assert_eq!(self.peek(), Some(open));
        self.at += 1;
        let mut items = Vec::new();
        let mut trailing_comma = false;
        loop {
            self.skip_space();
            if self.peek() == Some(close) {
                self.at += 1;
                // `(1)` is 1, not a tuple.
                if open == '(' && items.len() == 1 && !trailing_comma {
                    return None;
                }
                return Some(items);
            }
            items.push(self.value()?);
            self.skip_space();
            match self.peek()? {
                ',' => {
                    self.at += 1;
                    trailing_comma = true;
                }
                c if c == close => trailing_comma = false,
                _ => return None,
            }
        }
    }

    fn braces(&mut self) -> Option<Value> {
        self.at += 1;
        let mut map = serde_json::Map::new();
        let mut set = Vec::new();
        loop {
            self.skip_space();
            if self.peek() == Some('}') {
                self.at += 1;
                return Some(if set.is_empty() {
                    Value::Object(map)
                } else {
                    Value::Array(set)
                });
            }
            let key = self.value()?;
            self.skip_space();
            if self.peek() == Some(':') && set.is_empty() {
                self.at += 1;
                self.skip_space();
                let value = self.value()?;
                let key = match key {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                map.insert(key, value);
            } else if map.is_empty() {
                set.push(key);
            } else {
                return None;
            }
            self.skip_space();
            match self.peek()? {
                ',' => self.at += 1,
                '}' => {}
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.at += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.at += 1;
            match c {
                c if c == quote => return Some(out),
                '\\' => {
                    let e = self.peek()?;
                    self.at += 1;
                    match e {
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        '0' => out.push('\0'),
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'v' => out.push('\u{b}'),
                        '\\' | '\'' | '"' => out.push(e),
                        'x' => {
                            let hex: String =
                                self.chars.get(self.at..self.at + 2)?.iter().collect();
                            self.at += 2;
                            out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                        }
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn raw_string(&mut self) -> Option<String> {
        let quote = self.peek()?;
        self.at += 1;
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            self.at += 1;
            if c == quote {
                return Some(out);
            }
            out.push(c);
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        while self.peek().is_some_and(|c| {
            c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '+' || c == '-'
        }) {
            // A sign belongs to a number only after its exponent.
            let c = self.peek()?;
            if (c == '+' || c == '-')
                && !matches!(self.chars.get(self.at.wrapping_sub(1)), Some('e' | 'E'))
            {
                break;
            }
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        python_number(&text)
    }
}

fn negate(n: &serde_json::Number) -> Option<Value> {
    if let Some(i) = n.as_i64() {
        return Some(Value::from(-i));
    }
    if let Some(u) = n.as_u64() {
        return Some(Value::from(-(u as i128) as f64));
    }
    n.as_f64()
        .map(|f| serde_json::Number::from_f64(-f).map_or(Value::Null, Value::Number))
}

/// A Python number literal: `12`, `1_000`, `0x1f`, `0o17`, `0b101`, `1.5`,
/// `1e3`, `.5`; `012` is no number (a syntax error in Python 3).
fn python_number(text: &str) -> Option<Value> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let digits = text.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return i64::from_str_radix(rest, radix).ok().map(Value::from);
        }
    }
    if lower.bytes().all(|b| b.is_ascii_digit()) {
        if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|b| b != b'0') {
            return None;
        }
        return lower.parse::<i64>().ok().map(Value::from);
    }
    if lower.contains(['.', 'e']) && !lower.contains(['x', 'o', 'b', 'j']) {
        return lower
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// A plain (unquoted) YAML scalar as YAML 1.1 types it (PyYAML's implicit
/// resolvers, which Ansible's loader uses). Timestamps stay text, as Ansible
/// prints them.
pub fn yaml11_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false)
        }
        _ => {}
    }
    if let Some(v) = yaml11_int(text) {
        return v;
    }
    if let Some(v) = yaml11_float(text) {
        return v;
    }
    Value::String(text.to_string())
}

fn yaml11_int(text: &str) -> Option<Value> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if body.is_empty() {
        return None;
    }
    let sign = |v: i64| if negative { -v } else { v };
    let clean = |s: &str| s.replace('_', "");
    if let Some(bin) = body.strip_prefix("0b") {
        return (!bin.is_empty() && bin.bytes().all(|b| matches!(b, b'0' | b'1' | b'_')))
            .then(|| i64::from_str_radix(&clean(bin), 2).ok())
            .flatten()
            .map(|v| Value::from(sign(v)));
    }
    if let Some(hex) = body.strip_prefix("0x") {
        return (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_'))
            .then(|| i64::from_str_radix(&clean(hex), 16).ok())
            .flatten()
            .map(|v| Value::from(sign(v)));
    }
    if body == "0" {
        return Some(Value::from(0));
    }
    if let Some(oct) = body.strip_prefix('0') {
        return oct
            .bytes()
            .all(|b| matches!(b, b'0'..=b'7' | b'_'))
            .then(|| i64::from_str_radix(&clean(oct), 8).ok())
            .flatten()
            .map(|v| Value::from(sign(v)));
    }
    let first = body.as_bytes()[0];
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    if body.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return clean(body)
            .parse::<i64>()
            .ok()
            .map(|v| Value::from(sign(v)));
    }
    // Sexagesimal: 1:30 is 90.
    let mut parts = body.split(':');
    let head = parts.next()?;
    if !head.bytes().all(|b| b.is_ascii_digit() || b == b'_') {
        return None;
    }
    let mut total = clean(head).parse::<i64>().ok()?;
    let mut any = false;
    for p in parts {
        any = true;
        let ok = !p.is_empty()
            && p.len() <= 2
            && p.bytes().all(|b| b.is_ascii_digit())
            && (p.len() < 2 || p.as_bytes()[0] <= b'5');
        if !ok {
            return None;
        }
        total = total.checked_mul(60)?.checked_add(p.parse::<i64>().ok()?)?;
    }
    any.then(|| Value::from(sign(total)))
}

fn yaml11_float(text: &str) -> Option<Value> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), ".inf" | ".nan") {
        // JSON has no such numbers: shown as text.
        return None;
    }
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    // YAML 1.1 wants a dot, and a signed exponent.
    let (whole, fraction) = mantissa.split_once('.')?;
    let ok_whole = whole.is_empty()
        || (whole.as_bytes()[0].is_ascii_digit()
            && whole.bytes().all(|b| b.is_ascii_digit() || b == b'_'));
    let ok_fraction = fraction.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let ok_exponent = exponent.is_none_or(|e| {
        e.len() > 1 && e.starts_with(['+', '-']) && e[1..].bytes().all(|b| b.is_ascii_digit())
    });
    if !(ok_whole && ok_fraction && ok_exponent) || (whole.is_empty() && fraction.is_empty()) {
        return None;
    }
    text.replace('_', "")
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}

/// Ansible's `boolean()`: `yes`, `on`, `1`, `true`, `t`, `y` (any case, or
/// the number 1, or `true`) are true; `no`, `off`, `0`, `false`, `f`, `n`
/// are false; anything else is an error.
pub fn boolean(value: &Value) -> Result<bool, String> {
    let text = match value {
        Value::Bool(b) => return Ok(*b),
        Value::Number(n) if n.as_f64() == Some(1.0) => return Ok(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => return Ok(false),
        Value::String(s) => s.trim().to_ascii_lowercase(),
        other => other.to_string(),
    };
    match text.as_str() {
        "yes" | "on" | "1" | "true" | "t" | "y" => Ok(true),
        "no" | "off" | "0" | "false" | "f" | "n" => Ok(false),
        _ => Err(format!(
            "{value} is not a boolean (Ansible's: yes/no, on/off, true/false, 1/0, y/n, t/f)"
        )),
    }
}

/// A value as text, for a spec's `{{ name }}`: a string as it is, numbers
/// and booleans as JSON writes them, null as nothing, lists and mappings as
/// JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ini_values_are_python_literals() {
        for (text, want) in [
            ("1", json!(1)),
            ("-3", json!(-3)),
            ("0x1f", json!(31)),
            ("1_000", json!(1000)),
            ("1.5", json!(1.5)),
            ("1e3", json!(1000.0)),
            ("True", json!(true)),
            ("None", json!(null)),
            ("'007'", json!("007")),
            ("\"a b\"", json!("a b")),
            ("[1, 'two', (3,)]", json!([1, "two", [3]])),
            ("{'a': 1, 'b': [True]}", json!({"a": 1, "b": [true]})),
            ("007", json!("007")),
            ("yes", json!("yes")),
            ("true", json!("true")),
            ("a b", json!("a b")),
            ("1+2", json!("1+2")),
            ("(1)", json!("(1)")),
            ("'unclosed", json!("'unclosed")),
        ] {
            assert_eq!(ini_value(text), want, "{text}");
        }
    }

    #[test]
    fn plain_yaml_scalars_are_typed_as_yaml_1_1() {
        for (text, want) in [
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("y", json!("y")),
            ("0x1f", json!(31)),
            ("012", json!(10)),
            ("1_000", json!(1000)),
            ("1:30", json!(90)),
            ("1.5", json!(1.5)),
            ("1e3", json!("1e3")),
            ("1.0e+3", json!(1000.0)),
            ("0o17", json!("0o17")),
            ("~", json!(null)),
            ("2001-12-14", json!("2001-12-14")),
            ("web1", json!("web1")),
        ] {
            assert_eq!(yaml11_plain(text), want, "{text}");
        }
    }

    #[test]
    fn booleans_as_ansible_reads_them() {
        for t in ["y", "YES", "on", "1", "True", "t"] {
            assert_eq!(boolean(&json!(t)), Ok(true), "{t}");
        }
        for f in ["n", "no", "OFF", "0", "false", "F"] {
            assert_eq!(boolean(&json!(f)), Ok(false), "{f}");
        }
        assert_eq!(boolean(&json!(1)), Ok(true));
        assert!(boolean(&json!("maybe")).is_err());
    }
}
