//! Matchers: expectations that describe themselves.
//!
//! A [`Matcher`] is a value. Its `Display` reads as the expectation ("contain
//! \"worker_processes\"", "be version >= 1.2, < 2"), so check names and failure
//! messages are produced from the same data the evaluation uses. YAML specs and
//! the Rust DSL build the same matchers.

use std::fmt;

use crate::version::{Scheme, VersionReq};

/// What was observed on a target for one property.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A state such as installed, running, listening.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text.
    Text(String),
    /// A set of names, such as a user's groups or an image's exposed ports.
    List(Vec<String>),
    /// File permission bits, shown and compared in octal.
    Mode(u32),
    /// A version string with the ordering of the package manager that reported it.
    Version(String, Scheme),
    /// A user or group: equal to its name, or to its number (`owner: 0`).
    Named {
        /// The name.
        name: String,
        /// The numeric id.
        id: i64,
    },
    /// A file's type as `test` and `stat -L` see it: the type of what a
    /// symlink points to (`None` when it points nowhere), and whether the
    /// path itself is a symlink. Equal to `symlink` for a link, and to the
    /// type of its target.
    FileType {
        /// The type of what the path resolves to.
        target: Option<crate::model::file::FileType>,
        /// Whether the path itself is a symlink.
        link: bool,
    },
    /// A JSON value (compact JSON text), compared by type: the number 8080
    /// is not the string "8080".
    Json(String),
}

impl Value {
    fn as_text(&self) -> Option<std::borrow::Cow<'_, str>> {
        match self {
            Value::Text(s) | Value::Version(s, _) => Some(s.as_str().into()),
            Value::Int(n) => Some(n.to_string().into()),
            Value::Bool(b) => Some(b.to_string().into()),
            Value::Mode(m) => Some(format!("{m:04o}").into()),
            Value::Named { name, .. } => Some(name.as_str().into()),
            Value::FileType { link: true, .. } => {
                Some(crate::model::file::FileType::Symlink.as_str().into())
            }
            Value::FileType { target, .. } => Some(target.map_or("missing", |t| t.as_str()).into()),
            Value::List(_) => None,
            // Text matchers read a JSON string as its text, anything else
            // as JSON.
            Value::Json(j) => Some(match serde_json::from_str::<serde_json::Value>(j) {
                Ok(serde_json::Value::String(s)) => s.into(),
                _ => j.as_str().into(),
            }),
        }
    }
}

/// Longest text shown for a found value before it is cut.
const SHOWN_TEXT: usize = 400;

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::Mode(m) => write!(f, "{m:04o}"),
            Value::Version(v, _) => write!(f, "{v}"),
            Value::Named { name, id } if name == &id.to_string() => write!(f, "{id}"),
            Value::Named { name, id } => write!(f, "{name:?} ({id})"),
            Value::FileType {
                target,
                link: false,
            } => {
                write!(f, "{:?}", target.map_or("missing", |t| t.as_str()))
            }
            Value::FileType {
                target: Some(t),
                link: true,
            } => write!(f, "\"symlink\" to a {t}"),
            Value::FileType { target: None, .. } => write!(f, "\"symlink\" to nothing"),
            Value::Json(j) if j.chars().count() > SHOWN_TEXT => {
                let cut: String = j.chars().take(SHOWN_TEXT).collect();
                write!(f, "{cut}… ({} bytes of JSON in all)", j.len())
            }
            Value::Json(j) => f.write_str(j),
            Value::Text(s) => {
                if s.chars().count() > SHOWN_TEXT {
                    let cut: String = s.chars().take(SHOWN_TEXT).collect();
                    write!(f, "{cut:?}… ({} bytes in all)", s.len())
                } else {
                    write!(f, "{s:?}")
                }
            }
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// A literal in an expectation: `200`, `true`, `"root"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scalar {
    /// true or false.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// Text.
    Str(String),
    /// A set of names, for `eq` on a list: equal when the list holds exactly
    /// these names, in any order.
    Set(Vec<String>),
    /// A JSON value (compact JSON text), for `json`: an array or an object
    /// written in the spec, or a scalar with its YAML type.
    Json(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Str(s) => s.clone(),
            Scalar::Set(items) => items.join(", "),
            Scalar::Json(j) => j.clone(),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(n) => write!(f, "{n}"),
            Scalar::Str(s) => write!(f, "{s:?}"),
            Scalar::Set(items) => write!(f, "{items:?}"),
            Scalar::Json(j) => f.write_str(j),
        }
    }
}

impl<const N: usize> From<[&str; N]> for Scalar {
    fn from(items: [&str; N]) -> Self {
        Scalar::Set(items.iter().map(|s| s.to_string()).collect())
    }
}

impl From<Vec<&str>> for Scalar {
    fn from(items: Vec<&str>) -> Self {
        Scalar::Set(items.into_iter().map(str::to_string).collect())
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Scalar::Str(s.to_string())
    }
}
impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Scalar::Str(s)
    }
}
impl From<bool> for Scalar {
    fn from(b: bool) -> Self {
        Scalar::Bool(b)
    }
}
impl From<i64> for Scalar {
    fn from(n: i64) -> Self {
        Scalar::Int(n)
    }
}
impl From<i32> for Scalar {
    fn from(n: i32) -> Self {
        Scalar::Int(n.into())
    }
}
impl From<u32> for Scalar {
    fn from(n: u32) -> Self {
        Scalar::Int(n.into())
    }
}
impl From<u16> for Scalar {
    fn from(n: u16) -> Self {
        Scalar::Int(n.into())
    }
}

/// A compiled regular expression that compares equal by its source text.
///
/// `^` and `$` anchor lines, as grep's do (and as both serverspec and
/// testinfra mean them on file content and command output); `\A` and `\z`
/// anchor the whole text. A line may end in `\r\n`.
#[derive(Debug, Clone)]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// Compiles a regular expression (`^` and `$` anchor at lines).
    pub fn new(source: &str) -> Result<Self, String> {
        regex::RegexBuilder::new(source)
            .multi_line(true)
            .crlf(true)
            .build()
            .map(Pattern)
            .map_err(|e| format!("invalid regular expression {source:?}: {e}"))
    }
    /// The expression as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

/// Numeric comparison operators for `gt`, `ge`, `lt`, `le`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
}

impl Cmp {
    fn symbol(self) -> &'static str {
        match self {
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
        }
    }
}

/// An expectation on a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// `eq`: equal (a set, for lists).
    Eq(Scalar),
    /// `contains`: a substring, or an element of a list.
    Contains(String),
    /// `matches`: a regular expression.
    Matches(Pattern),
    /// `starts_with`.
    StartsWith(String),
    /// `ends_with`.
    EndsWith(String),
    /// `gt`, `ge`, `lt`, `le`: a numeric comparison.
    Compare(Cmp, f64),
    /// A version requirement (`>= 2.4`), compared by the package manager's rules.
    Version(VersionReq),
    /// `one_of`: equal to one of these.
    OneOf(Vec<Scalar>),
    /// `not`: the inner matcher does not match.
    Not(Box<Matcher>),
    /// `all_of`: every matcher matches.
    AllOf(Vec<Matcher>),
    /// `any_of`: at least one matcher matches.
    AnyOf(Vec<Matcher>),
}

impl Matcher {
    /// Negates, folding `not eq true` into `eq false` so that `should_not
    /// be_running()` and `running: false` are the same check.
    pub fn negate(self) -> Matcher {
        match self {
            Matcher::Eq(Scalar::Bool(b)) => Matcher::Eq(Scalar::Bool(!b)),
            Matcher::Not(inner) => *inner,
            other => Matcher::Not(Box::new(other)),
        }
    }

    /// Whether the observed value satisfies this matcher. `Err` means the
    /// matcher cannot apply to that kind of value.
    pub fn eval(&self, actual: &Value) -> Result<bool, String> {
        Ok(match self {
            Matcher::Eq(want) => scalar_eq(want, actual)?,
            Matcher::Contains(needle) => match actual {
                Value::List(items) => items.iter().any(|i| i == needle),
                other => text_of(other)?.contains(needle.as_str()),
            },
            Matcher::Matches(re) => match actual {
                Value::List(items) => items.iter().any(|i| re.0.is_match(i)),
                other => re.0.is_match(&text_of(other)?),
            },
            Matcher::StartsWith(p) => text_of(actual)?.starts_with(p.as_str()),
            Matcher::EndsWith(p) => text_of(actual)?.ends_with(p.as_str()),
            Matcher::Compare(op, want) => {
                let have = number_of(actual)?;
                match op {
                    Cmp::Gt => have > *want,
                    Cmp::Ge => have >= *want,
                    Cmp::Lt => have < *want,
                    Cmp::Le => have <= *want,
                }
            }
            Matcher::Version(req) => match actual {
                Value::Version(v, scheme) => req.matches(v, *scheme),
                other => req.matches(text_of(other)?.trim(), Scheme::Deb),
            },
            Matcher::OneOf(options) => {
                for option in options {
                    if scalar_eq(option, actual)? {
                        return Ok(true);
                    }
                }
                false
            }
            Matcher::Not(inner) => !inner.eval(actual)?,
            Matcher::AllOf(all) => {
                for m in all {
                    if !m.eval(actual)? {
                        return Ok(false);
                    }
                }
                true
            }
            Matcher::AnyOf(any) => {
                for m in any {
                    if m.eval(actual)? {
                        return Ok(true);
                    }
                }
                false
            }
        })
    }
}

fn text_of(v: &Value) -> Result<std::borrow::Cow<'_, str>, String> {
    v.as_text()
        .ok_or_else(|| format!("a list ({v}) has no text to compare"))
}

fn number_of(v: &Value) -> Result<f64, String> {
    match v {
        Value::Int(n) => Ok(*n as f64),
        other => {
            let text = text_of(other)?;
            text.trim()
                .parse()
                .map_err(|_| format!("{other} is not a number"))
        }
    }
}

/// Parses a mode written as `0644`, `644` or `0o644`.
pub fn parse_mode(text: &str) -> Option<u32> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    if digits.is_empty() || digits.len() > 5 {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Typed JSON equality: numbers by value (1 is 1.0), everything else by
/// structure; a string is never a number or a boolean.
fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (a, b) {
        (J::Number(x), J::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => x.as_f64() == y.as_f64(),
        },
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        (x, y) => x == y,
    }
}

/// A JSON value against an expected scalar, by type.
fn json_matches(have: &str, want: &Scalar) -> Result<bool, String> {
    use serde_json::Value as J;
    let have: J = serde_json::from_str(have).map_err(|e| format!("unreadable JSON value: {e}"))?;
    Ok(match want {
        Scalar::Bool(b) => have == J::Bool(*b),
        Scalar::Int(n) => json_eq(&have, &J::from(*n)),
        Scalar::Str(s) => have == J::String(s.clone()),
        Scalar::Json(j) => {
            let want: J =
                serde_json::from_str(j).map_err(|e| format!("unreadable JSON value: {e}"))?;
            json_eq(&have, &want)
        }
        Scalar::Set(_) => return Err(format!("{want} is a list of names, not a JSON value")),
    })
}

fn scalar_eq(want: &Scalar, actual: &Value) -> Result<bool, String> {
    Ok(match (actual, want) {
        (Value::Json(j), w) => json_matches(j, w)?,
        (Value::Bool(b), Scalar::Bool(w)) => b == w,
        (Value::Bool(b), Scalar::Str(w)) => match w.as_str() {
            "true" => *b,
            "false" => !*b,
            _ => return Err(format!("{want} is not true or false")),
        },
        (Value::Int(n), Scalar::Int(w)) => n == w,
        (Value::Int(n), Scalar::Str(w)) => w.trim().parse::<i64>().ok() == Some(*n),
        (Value::Mode(m), w) => {
            parse_mode(&w.text()).ok_or_else(|| format!("{want} is not an octal mode"))? == *m
        }
        (Value::Named { id, .. }, Scalar::Int(w)) => id == w,
        (Value::Named { name, id }, Scalar::Str(w)) => {
            name == w || (is_number(w) && w.parse::<i64>().ok() == Some(*id))
        }
        (Value::FileType { target, link }, w) => {
            let w = w.text();
            (*link && w == crate::model::file::FileType::Symlink.as_str())
                || target.is_some_and(|t| t.as_str() == w)
        }
        (Value::List(items), Scalar::Set(w)) => {
            let mut have: Vec<&String> = items.iter().collect();
            let mut want: Vec<&String> = w.iter().collect();
            have.sort();
            have.dedup();
            want.sort();
            want.dedup();
            have == want
        }
        (_, Scalar::Set(_)) => return Err(format!("{want} is a list, and this value is not")),
        (Value::List(items), Scalar::Str(w)) => items.len() == 1 && items[0] == *w,
        (Value::List(_), _) => false,
        (other, w) => text_of(other)? == w.text(),
    })
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, ms: &[Matcher], sep: &str| -> fmt::Result {
            for (i, m) in ms.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                match m {
                    Matcher::AllOf(_) | Matcher::AnyOf(_) => write!(f, "({m})")?,
                    _ => write!(f, "{m}")?,
                }
            }
            Ok(())
        };
        match self {
            Matcher::Eq(s) => write!(f, "eq {s}"),
            Matcher::Contains(s) => write!(f, "contain {s:?}"),
            Matcher::Matches(p) => write!(f, "match /{}/", p.as_str()),
            Matcher::StartsWith(s) => write!(f, "start with {s:?}"),
            Matcher::EndsWith(s) => write!(f, "end with {s:?}"),
            Matcher::Compare(op, n) => write!(f, "be {} {n}", op.symbol()),
            Matcher::Version(req) => write!(f, "be version {req}"),
            Matcher::OneOf(options) => {
                f.write_str("be one of [")?;
                for (i, o) in options.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{o}")?;
                }
                f.write_str("]")
            }
            Matcher::Not(inner) => write!(f, "not {inner}"),
            Matcher::AllOf(all) => list(f, all, " and "),
            Matcher::AnyOf(any) => list(f, any, " or "),
        }
    }
}

/// Constructors with serverspec's names, for the Rust DSL and for library users.
pub mod dsl {
    use super::*;

    /// `eq`: equal to `v`.
    pub fn eq(v: impl Into<Scalar>) -> Matcher {
        Matcher::Eq(v.into())
    }
    /// `contains`: contains `s`.
    pub fn contain(s: impl Into<String>) -> Matcher {
        Matcher::Contains(s.into())
    }
    /// Panics on an invalid regular expression, like `Regex::new(..).unwrap()`:
    /// a spec with a broken pattern cannot mean anything.
    pub fn match_regex(re: &str) -> Matcher {
        Matcher::Matches(Pattern::new(re).unwrap_or_else(|e| panic!("{e}")))
    }
    /// `starts_with`: starts with `s`.
    pub fn start_with(s: impl Into<String>) -> Matcher {
        Matcher::StartsWith(s.into())
    }
    /// `ends_with`: ends with `s`.
    pub fn end_with(s: impl Into<String>) -> Matcher {
        Matcher::EndsWith(s.into())
    }
    /// `gt`: greater than `n`.
    pub fn be_gt(n: impl Into<f64>) -> Matcher {
        Matcher::Compare(Cmp::Gt, n.into())
    }
    /// `ge`: at least `n`.
    pub fn be_ge(n: impl Into<f64>) -> Matcher {
        Matcher::Compare(Cmp::Ge, n.into())
    }
    /// `lt`: less than `n`.
    pub fn be_lt(n: impl Into<f64>) -> Matcher {
        Matcher::Compare(Cmp::Lt, n.into())
    }
    /// `le`: at most `n`.
    pub fn be_le(n: impl Into<f64>) -> Matcher {
        Matcher::Compare(Cmp::Le, n.into())
    }
    /// Panics on an invalid requirement, for the same reason as [`match_regex`].
    pub fn be_version(req: &str) -> Matcher {
        Matcher::Version(VersionReq::parse(req).unwrap_or_else(|e| panic!("{e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::dsl::*;
    use super::*;

    #[test]
    fn patterns_anchor_lines_as_grep_does() {
        let config = Value::Text("Port 22\nPermitRootLogin yes\r\nX11Forwarding no\n".into());
        assert!(match_regex("^PermitRootLogin yes$").eval(&config).unwrap());
        assert!(Matcher::Not(Box::new(match_regex("^PermitRootLogin yes")))
            .eval(&config)
            .map(|b| !b)
            .unwrap());
        let pid = Value::Text("9\n".into());
        assert!(match_regex("^[0-9]+$").eval(&pid).unwrap());
        // \A and \z still anchor the whole text.
        assert!(!match_regex(r"\APermitRootLogin").eval(&config).unwrap());
        assert!(match_regex(r"\APort").eval(&config).unwrap());
        assert!(!match_regex(r"yes\z").eval(&config).unwrap());
    }

    #[test]
    fn lists_compare_as_sets_with_eq_and_contains_finds_an_element() {
        let groups = Value::List(vec!["sudo".into(), "adm".into(), "adm".into()]);
        assert!(eq(["adm", "sudo"]).eval(&groups).unwrap());
        assert!(!eq(["adm"]).eval(&groups).unwrap());
        assert!(!eq(["adm", "sudo", "wheel"]).eval(&groups).unwrap());
        assert!(contain("adm").eval(&groups).unwrap());
        assert!(eq(Vec::<&str>::new()).eval(&Value::List(vec![])).unwrap());
        assert!(eq(["a"]).eval(&Value::Text("a".into())).is_err());
    }

    #[test]
    fn ids_compare_by_name_or_number() {
        let root = Value::Named {
            name: "root".into(),
            id: 0,
        };
        assert!(eq("root").eval(&root).unwrap());
        assert!(eq(0).eval(&root).unwrap());
        assert!(eq("0").eval(&root).unwrap());
        assert!(!eq(1000).eval(&root).unwrap());
        assert!(!eq("daemon").eval(&root).unwrap());
        assert_eq!(root.to_string(), "\"root\" (0)");
    }

    #[test]
    fn a_link_is_a_symlink_and_the_type_of_what_it_points_to() {
        let link = Value::FileType {
            target: Some(crate::model::file::FileType::File),
            link: true,
        };
        assert!(eq("symlink").eval(&link).unwrap());
        assert!(eq("file").eval(&link).unwrap());
        assert!(!eq("directory").eval(&link).unwrap());
        let plain = Value::FileType {
            target: Some(crate::model::file::FileType::Directory),
            link: false,
        };
        assert!(!eq("symlink").eval(&plain).unwrap());
        assert!(eq("directory").eval(&plain).unwrap());
        assert_eq!(link.to_string(), "\"symlink\" to a file");
    }

    #[test]
    fn matchers_describe_themselves() {
        assert_eq!(contain("worker").to_string(), "contain \"worker\"");
        assert_eq!(match_regex(r"^1\.22").to_string(), r"match /^1\.22/");
        assert_eq!(eq(200).to_string(), "eq 200");
        assert_eq!(contain("x").negate().to_string(), "not contain \"x\"");
        assert_eq!(be_version(">=1.2,<2").to_string(), "be version >= 1.2, < 2");
        assert_eq!(
            Matcher::AnyOf(vec![eq("a"), Matcher::AllOf(vec![be_gt(1), be_lt(3)])]).to_string(),
            "eq \"a\" or (be > 1 and be < 3)"
        );
    }

    #[test]
    fn negation_of_a_state_is_the_opposite_state() {
        assert_eq!(eq(true).negate(), eq(false));
        assert_eq!(contain("x").negate().negate(), contain("x"));
    }

    #[test]
    fn evaluation_follows_the_value_kind() {
        assert_eq!(eq(true).eval(&Value::Bool(true)), Ok(true));
        assert_eq!(eq("0644").eval(&Value::Mode(0o644)), Ok(true));
        assert_eq!(eq(644).eval(&Value::Mode(0o644)), Ok(true));
        assert_eq!(eq("0755").eval(&Value::Mode(0o644)), Ok(false));
        assert_eq!(
            contain("adm").eval(&Value::List(vec!["adm".into(), "sudo".into()])),
            Ok(true)
        );
        assert_eq!(
            contain("ad").eval(&Value::List(vec!["adm".into()])),
            Ok(false)
        );
        assert_eq!(be_ge(3).eval(&Value::Text("3\n".into())), Ok(true));
        assert!(be_ge(3).eval(&Value::Text("many".into())).is_err());
        assert_eq!(
            be_version(">= 1.22").eval(&Value::Version("1.22.1-9".into(), Scheme::Deb)),
            Ok(true)
        );
        let one_of = Matcher::OneOf(vec![Scalar::Int(200), Scalar::Int(301)]);
        assert_eq!(one_of.eval(&Value::Int(301)), Ok(true));
        assert_eq!(one_of.eval(&Value::Int(404)), Ok(false));
    }

    #[test]
    fn long_found_text_is_cut() {
        let shown = Value::Text("x".repeat(1000)).to_string();
        assert!(shown.len() < 500, "{shown}");
        assert!(shown.ends_with("(1000 bytes in all)"));
    }
}
