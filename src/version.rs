//! Distro-aware version comparison.
//!
//! Package versions are compared the way the package manager that installed them
//! compares them: `1.2~rc1` sorts before `1.2` on Debian, `1:1.0` is newer than
//! `2.0` everywhere that has epochs, and `1.2_rc1-r0` sorts before `1.2-r0` on
//! Alpine. A version requirement such as `>= 1.2, < 2` is a list of comparisons
//! that must all hold.

use std::cmp::Ordering;
use std::fmt;

/// How versions are ordered: which package manager's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scheme {
    /// dpkg's ordering (Debian, Ubuntu). Also used for versions that come from
    /// no package manager, such as a command's output: it orders plain dotted
    /// versions the way people expect.
    #[default]
    Deb,
    /// rpm's `rpmvercmp` with epoch and release (RHEL, Fedora, SUSE).
    Rpm,
    /// pacman's `vercmp` (Arch). It grew from rpm's but parts from it: a
    /// trailing letter run is a pre-release (`1.0beta < 1.0`, `1.5b < 1.5`),
    /// more separators make a newer version, and there is no `~` or `^`.
    Pacman,
    /// apk's ordering (Alpine): suffixes such as `_rc1` and `_p2`, and `-rN`.
    Apk,
}

impl Scheme {
    /// Compares two versions under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            Scheme::Deb => deb_compare(a, b),
            Scheme::Rpm => rpm_compare(a, b),
            Scheme::Pacman => pacman_compare(a, b),
            Scheme::Apk => apk_compare(a, b),
        }
    }
}

/// A comparison operator in a version requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Op {
    fn holds(self, ord: Ordering) -> bool {
        match self {
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Ge => ord != Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }
}

/// A version requirement: comparisons joined by commas, all of which must hold
/// (`>= 1.2, < 2`). A bare version means `=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionReq {
    parts: Vec<(Op, String)>,
}

impl VersionReq {
    /// Parses `>= 1.2, < 2`. Errors name the part that is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        for raw in text.split(',') {
            let part = raw.trim();
            if part.is_empty() {
                return Err(format!("empty comparison in version requirement {text:?}"));
            }
            let (op, rest) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("!=", Op::Ne),
                ("==", Op::Eq),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|(p, op)| part.strip_prefix(p).map(|rest| (*op, rest)))
            .unwrap_or((Op::Eq, part));
            let version = rest.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err(format!(
                    "{part:?} is not a comparison like \">= 1.2\" in version requirement {text:?}"
                ));
            }
            parts.push((op, version.to_string()));
        }
        Ok(VersionReq { parts })
    }

    /// Whether `version` satisfies every comparison under `scheme`.
    pub fn matches(&self, version: &str, scheme: Scheme) -> bool {
        self.parts
            .iter()
            .all(|(op, want)| op.holds(scheme.compare(version, want)))
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (op, v)) in self.parts.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {v}", op.as_str())?;
        }
        Ok(())
    }
}

/// Splits `epoch:rest` where the epoch is all digits; no epoch is epoch 0.
fn split_epoch(v: &str) -> (u64, &str) {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().unwrap_or(u64::MAX), rest)
        }
        _ => (0, v),
    }
}

fn deb_compare(a: &str, b: &str) -> Ordering {
    let (ea, a) = split_epoch(a);
    let (eb, b) = split_epoch(b);
    let (ua, ra) = a.rsplit_once('-').unwrap_or((a, ""));
    let (ub, rb) = b.rsplit_once('-').unwrap_or((b, ""));
    ea.cmp(&eb)
        .then_with(|| verrevcmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| verrevcmp(ra.as_bytes(), rb.as_bytes()))
}

/// dpkg's character order: `~` before everything (even the end), then the end
/// of the string and digits, then letters, then everything else.
fn deb_order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => c as i32,
        Some(b'~') => -1,
        Some(c) => c as i32 + 256,
    }
}

fn verrevcmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    let is_digit = |s: &[u8]| s.first().is_some_and(u8::is_ascii_digit);
    while !a.is_empty() || !b.is_empty() {
        while (!a.is_empty() && !is_digit(a)) || (!b.is_empty() && !is_digit(b)) {
            let (ac, bc) = (deb_order(a.first().copied()), deb_order(b.first().copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        while a.first() == Some(&b'0') {
            a = &a[1..];
        }
        while b.first() == Some(&b'0') {
            b = &b[1..];
        }
        let mut first_diff = Ordering::Equal;
        while is_digit(a) && is_digit(b) {
            if first_diff == Ordering::Equal {
                first_diff = a[0].cmp(&b[0]);
            }
            a = &a[1..];
            b = &b[1..];
        }
        if is_digit(a) {
            return Ordering::Greater;
        }
        if is_digit(b) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

fn rpm_compare(a: &str, b: &str) -> Ordering {
    let (ea, a) = split_epoch(a);
    let (eb, b) = split_epoch(b);
    let (va, ra) = match a.rsplit_once('-') {
        Some((v, r)) => (v, Some(r)),
        None => (a, None),
    };
    let (vb, rb) = match b.rsplit_once('-') {
        Some((v, r)) => (v, Some(r)),
        None => (b, None),
    };
    ea.cmp(&eb)
        .then_with(|| rpmvercmp(va.as_bytes(), vb.as_bytes()))
        .then_with(|| match (ra, rb) {
            (Some(ra), Some(rb)) => rpmvercmp(ra.as_bytes(), rb.as_bytes()),
            _ => Ordering::Equal,
        })
}

/// pacman's `alpm_pkg_vercmp`: epoch, then version, then the release when
/// both versions have one.
fn pacman_compare(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let evr = |v: &str| -> (String, String, Option<String>) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => {
                (e.to_string(), r)
            }
            _ => ("0".to_string(), v),
        };
        match rest.rsplit_once('-') {
            Some((ver, rel)) => (epoch, ver.to_string(), Some(rel.to_string())),
            None => (epoch, rest.to_string(), None),
        }
    };
    let (e1, v1, r1) = evr(a);
    let (e2, v2, r2) = evr(b);
    pacman_segments(e1.as_bytes(), e2.as_bytes())
        .then_with(|| pacman_segments(v1.as_bytes(), v2.as_bytes()))
        .then_with(|| match (r1, r2) {
            (Some(r1), Some(r2)) => pacman_segments(r1.as_bytes(), r2.as_bytes()),
            _ => Ordering::Equal,
        })
}

/// pacman's segment walk: digits against digits numerically, letters against
/// letters by bytes; a run of separators longer than the other's makes the
/// newer version; at the end, a remaining letter run is older than nothing.
fn pacman_segments(mut one: &[u8], mut two: &[u8]) -> Ordering {
    if one == two {
        return Ordering::Equal;
    }
    let sep = |c: &u8| !c.is_ascii_alphanumeric();
    while !one.is_empty() && !two.is_empty() {
        let s1 = one.iter().take_while(|c| sep(c)).count();
        let s2 = two.iter().take_while(|c| sep(c)).count();
        one = &one[s1..];
        two = &two[s2..];
        if one.is_empty() || two.is_empty() {
            break;
        }
        if s1 != s2 {
            return s1.cmp(&s2);
        }
        let ord = next_segment(&mut one, &mut two);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    match (one.first(), two.first()) {
        (None, None) => Ordering::Equal,
        // Whatever remains, a letter run is older, anything else newer.
        (None, Some(c)) if !c.is_ascii_alphabetic() => Ordering::Less,
        (Some(c), _) if c.is_ascii_alphabetic() => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// rpm's segment comparison: runs of digits compare numerically and beat runs of
/// letters; `~` sorts before anything, `^` after the base version.
fn rpmvercmp(mut one: &[u8], mut two: &[u8]) -> Ordering {
    if one == two {
        return Ordering::Equal;
    }
    let sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        while one.first().is_some_and(sep) {
            one = &one[1..];
        }
        while two.first().is_some_and(sep) {
            two = &two[1..];
        }
        if one.first() == Some(&b'~') || two.first() == Some(&b'~') {
            if one.first() != Some(&b'~') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'~') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.first() == Some(&b'^') || two.first() == Some(&b'^') {
            if one.is_empty() {
                return Ordering::Less;
            }
            if two.is_empty() {
                return Ordering::Greater;
            }
            if one.first() != Some(&b'^') {
                return Ordering::Greater;
            }
            if two.first() != Some(&b'^') {
                return Ordering::Less;
            }
            one = &one[1..];
            two = &two[1..];
            continue;
        }
        if one.is_empty() || two.is_empty() {
            break;
        }
        let ord = next_segment(&mut one, &mut two);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    match (one.is_empty(), two.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}

/// Takes the next segment off both versions, both starting with a letter or
/// digit: a run of digits (compared as numbers) or of letters (compared as
/// bytes), of the kind the first one starts with. A number beats letters.
/// The step rpm's and pacman's comparisons share.
fn next_segment(one: &mut &[u8], two: &mut &[u8]) -> Ordering {
    let numeric = one[0].is_ascii_digit();
    let class = |c: &u8| {
        if numeric {
            c.is_ascii_digit()
        } else {
            c.is_ascii_alphabetic()
        }
    };
    let n1 = one.iter().take_while(|c| class(c)).count();
    let n2 = two.iter().take_while(|c| class(c)).count();
    let (seg1, seg2) = (&one[..n1], &two[..n2]);
    *one = &one[n1..];
    *two = &two[n2..];
    if seg2.is_empty() {
        // The other starts with the other kind: a number against letters.
        return if numeric {
            Ordering::Greater
        } else {
            Ordering::Less
        };
    }
    if numeric {
        let a = trim_zeros(seg1);
        let b = trim_zeros(seg2);
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    } else {
        seg1.cmp(seg2)
    }
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|c| **c == b'0').count();
    &s[n..]
}

/// An Alpine version: `1.2.3a_rc1_p2-r4`.
#[derive(Debug, PartialEq, Eq)]
struct ApkVersion {
    numbers: Vec<u64>,
    letter: Option<u8>,
    suffixes: Vec<(i8, u64)>,
    revision: u64,
}

fn apk_suffix_rank(name: &str) -> Option<i8> {
    Some(match name {
        "alpha" => -4,
        "beta" => -3,
        "pre" => -2,
        "rc" => -1,
        "cvs" => 1,
        "svn" => 2,
        "git" => 3,
        "hg" => 4,
        "p" => 5,
        _ => return None,
    })
}

fn parse_apk(v: &str) -> Option<ApkVersion> {
    let (main, revision) = match v.rsplit_once("-r") {
        Some((m, r)) => (m, r.parse().ok()?),
        None => (v, 0),
    };
    let mut pieces = main.split('_');
    let head = pieces.next()?;
    let digits_end = head
        .rfind(|c: char| c.is_ascii_digit())
        .map(|i| i + 1)
        .unwrap_or(0);
    let (nums, letter) = head.split_at(digits_end);
    let numbers = nums
        .split('.')
        .map(|n| n.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    let letter = match letter.as_bytes() {
        [] => None,
        [c] if c.is_ascii_lowercase() => Some(*c),
        _ => return None,
    };
    let suffixes = pieces
        .map(|s| {
            let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
            let (name, num) = s.split_at(split);
            let n = if num.is_empty() { 0 } else { num.parse().ok()? };
            Some((apk_suffix_rank(name)?, n))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ApkVersion {
        numbers,
        letter,
        suffixes,
        revision,
    })
}

fn apk_compare(a: &str, b: &str) -> Ordering {
    let (Some(va), Some(vb)) = (parse_apk(a), parse_apk(b)) else {
        // Not in apk's grammar: order it the way dpkg would rather than refuse.
        return deb_compare(a, b);
    };
    va.numbers
        .cmp(&vb.numbers)
        .then_with(|| va.letter.cmp(&vb.letter))
        .then_with(|| {
            let n = va.suffixes.len().max(vb.suffixes.len());
            (0..n)
                .map(|i| {
                    let sa = va.suffixes.get(i).copied().unwrap_or((0, 0));
                    let sb = vb.suffixes.get(i).copied().unwrap_or((0, 0));
                    sa.cmp(&sb)
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        })
        .then_with(|| va.revision.cmp(&vb.revision))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn dpkg_ordering_follows_debian_policy() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0", "1.0-1", Less),
            ("1.0-0", "1.0", Equal),
            ("1:0.1", "2.0", Greater),
            ("1.22.1-9", "1.22.1-10", Less),
            ("1.2a", "1.2", Greater),
            ("1.2+b1", "1.2", Greater),
            ("2.36-9+deb12u4", "2.36-9+deb12u10", Less),
            ("1.010", "1.9", Greater),
            ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(deb_compare(a, b), want, "{a} vs {b}");
            assert_eq!(deb_compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    /// pacman's own vercmp test cases (test/util/vercmptest.sh), each also
    /// the other way round, plus epochs.
    #[test]
    fn pacman_ordering_follows_its_vercmp_tests() {
        use Ordering::*;
        let cases = [
            ("1.5.0", "1.5.0", Equal),
            ("1.5.1", "1.5.0", Greater),
            ("1.5.1", "1.5", Greater),
            ("1.5.0-1", "1.5.0-1", Equal),
            ("1.5.0-1", "1.5.0-2", Less),
            ("1.5.0-1", "1.5.1-1", Less),
            ("1.5.0-2", "1.5.1-1", Less),
            ("1.5-1", "1.5.1-1", Less),
            ("1.5-2", "1.5.1-1", Less),
            ("1.5-2", "1.5.1-2", Less),
            ("1.5", "1.5-1", Equal),
            ("1.5-1", "1.5", Equal),
            ("1.1-1", "1.1", Equal),
            ("1.0-1", "1.1", Less),
            ("1.1-1", "1.0", Greater),
            ("1.5b-1", "1.5-1", Less),
            ("1.5b", "1.5", Less),
            ("1.5b-1", "1.5", Less),
            ("1.5b", "1.5.1", Less),
            ("1.0a", "1.0alpha", Less),
            ("1.0alpha", "1.0b", Less),
            ("1.0b", "1.0beta", Less),
            ("1.0beta", "1.0rc", Less),
            ("1.0rc", "1.0", Less),
            ("1.5.a", "1.5", Greater),
            ("1.5.b", "1.5.a", Greater),
            ("1.5.1", "1.5.b", Greater),
            ("1.5.b-1", "1.5.b", Equal),
            ("1.5-1", "1.5.b", Less),
            ("1:1.0", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.0", "1:1.0", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(Scheme::Pacman.compare(a, b), want, "{a} vs {b}");
            assert_eq!(Scheme::Pacman.compare(b, a), want.reverse(), "{b} vs {a}");
        }
        // Where pacman and rpm part: a trailing letter run.
        assert_eq!(Scheme::Rpm.compare("1.0beta", "1.0"), Greater);
        assert_eq!(Scheme::Pacman.compare("1.0beta", "1.0"), Less);
    }

    #[test]
    fn rpm_ordering_follows_rpmvercmp() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0.1", Less),
            ("2.0", "1:1.0", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0-1.el9", "1.0-2.el9", Less),
            ("5.14.0-362.8.1.el9_3", "5.14.0-70.13.1.el9_0", Greater),
            ("1.a", "1.1", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpm_compare(a, b), want, "{a} vs {b}");
            assert_eq!(rpm_compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn apk_ordering_handles_suffixes_and_revisions() {
        let cases = [
            ("1.2.3-r0", "1.2.3-r1", Less),
            ("1.2.3_rc1-r0", "1.2.3-r0", Less),
            ("1.2.3_p1-r0", "1.2.3-r0", Greater),
            ("1.2.3a-r0", "1.2.3-r0", Greater),
            ("1.24.2-r9", "1.24.10-r0", Less),
            ("1.2_alpha", "1.2_beta", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(apk_compare(a, b), want, "{a} vs {b}");
            assert_eq!(apk_compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn requirements_are_conjunctions() {
        let req = VersionReq::parse(">= 1.2, < 2").unwrap();
        assert!(req.matches("1.22.1-9", Scheme::Deb));
        assert!(!req.matches("2.0", Scheme::Deb));
        assert!(!req.matches("1.1.9", Scheme::Deb));
        assert_eq!(req.to_string(), ">= 1.2, < 2");
        assert!(VersionReq::parse("1.2")
            .unwrap()
            .matches("1.2", Scheme::Rpm));
        assert!(VersionReq::parse(">= ").is_err());
        assert!(VersionReq::parse(">= 1, ").is_err());
    }
}
