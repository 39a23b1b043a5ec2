//! A backend that answers probe scripts from canned responses, recording what
//! it was asked. It reads the script infraspec renders (one `p ID TIMEOUT
//! 'arg'…` line per probe) and frames its answers with the script's nonce, as
//! the real script would.

use std::sync::Mutex;
use std::time::Duration;

use infraspec::backend::{Backend, BackendError, ExecOutput};

/// A canned answer: exit status, stdout, stderr.
pub type Answer = (i32, Vec<u8>, Vec<u8>);

pub struct Scripted<F: Fn(&[String], usize) -> Answer + Send + Sync> {
    pub answer: F,
    /// Every batch: the argv of each probe in it.
    pub batches: Mutex<Vec<Vec<Vec<String>>>>,
    /// Every script as sent.
    pub scripts: Mutex<Vec<String>>,
}

impl<F: Fn(&[String], usize) -> Answer + Send + Sync> Scripted<F> {
    pub fn new(answer: F) -> Self {
        Scripted {
            answer,
            batches: Mutex::new(Vec::new()),
            scripts: Mutex::new(Vec::new()),
        }
    }

    pub fn round_trips(&self) -> usize {
        self.batches.lock().unwrap().len()
    }
}

/// Splits a line of single-quoted words (`'a' 'it'\''s'`) back into words.
pub fn unquote_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            match c {
                ' ' => break,
                '\'' => {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == '\'' {
                            break;
                        }
                        word.push(c);
                    }
                }
                '\\' => {
                    chars.next();
                    word.push(chars.next().expect("escaped char"));
                }
                other => {
                    chars.next();
                    word.push(other);
                }
            }
        }
        words.push(word);
    }
}

/// The probes of a rendered script: the words after `p ID TIMEOUT CAP`. A quoted
/// argument may span lines, so lines are joined until quotes balance.
pub fn probes_of(script: &str) -> (String, Vec<Vec<String>>) {
    let nonce = script
        .lines()
        .find_map(|l| l.strip_prefix("N="))
        .expect("nonce line")
        .to_string();
    let mut probes = Vec::new();
    let mut pending = String::new();
    for line in script.lines() {
        if pending.is_empty() && !line.starts_with("p ") {
            continue;
        }
        if !pending.is_empty() {
            pending.push('\n');
        }
        pending.push_str(line);
        // An argument is complete when its unescaped quotes balance.
        let quotes = pending.matches('\'').count() - pending.matches("\\'").count();
        if quotes.is_multiple_of(2) {
            let words = unquote_words(&pending);
            let index: usize = words[1].parse().expect("probe index");
            // p INDEX TIMEOUT CAP USER ARGV…
            probes.push((index, words[5..].to_vec()));
            pending.clear();
        }
    }
    // Lanes list probes out of order; each line carries its index.
    probes.sort();
    (nonce, probes.into_iter().map(|(_, words)| words).collect())
}

impl<F: Fn(&[String], usize) -> Answer + Send + Sync> Backend for Scripted<F> {
    fn exec(
        &self,
        argv: &[String],
        stdin: &[u8],
        _timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        assert_eq!(argv, ["sh"], "every batch is one `sh` reading the script");
        let script = String::from_utf8(stdin.to_vec()).expect("script is text");
        let (nonce, probes) = probes_of(&script);
        let round = self.round_trips();
        let mut out = Vec::new();
        for (i, probe) in probes.iter().enumerate() {
            let (status, stdout, stderr) = (self.answer)(probe, round);
            let answer = infraspec::probe::ProbeOutput::new(status, stdout, stderr);
            out.extend(infraspec::probe::frame(&nonce, i, &answer, usize::MAX));
        }
        out.extend(infraspec::probe::frame_end(&nonce, probes.len()));
        self.batches.lock().unwrap().push(probes);
        self.scripts.lock().unwrap().push(script);
        Ok(ExecOutput {
            status: Some(0),
            stdout: out,
            stderr: Vec::new(),
            truncated: false,
            timed_out: false,
        })
    }

    fn target(&self) -> String {
        "scripted".into()
    }
}
