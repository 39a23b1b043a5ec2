//! Reading a text file that infraspec is handed (a spec, an inventory, a
//! variables file, a report), with a cap: a device such as `/dev/zero` or a
//! huge file is refused at once, not read into memory. A file infraspec
//! found itself (an `include:`, a `group_vars/` file) is read only when it
//! is a regular file: it is opened without blocking and its type checked
//! first, so a FIFO with no writer cannot hang a load. Each caller words the
//! error for what the file is.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Why a text file could not be read.
#[derive(Debug)]
pub enum TextFileError {
    /// It could not be opened or read.
    Io(std::io::Error),
    /// It holds more than the cap.
    TooLarge,
    /// It is not UTF-8.
    NotUtf8(std::string::FromUtf8Error),
    /// It is not a regular file (what it is: "a FIFO", "a directory"…).
    NotRegular(&'static str),
}

impl std::fmt::Display for TextFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextFileError::Io(e) => write!(f, "cannot read it: {e}"),
            TextFileError::TooLarge => f.write_str("it is too large"),
            TextFileError::NotUtf8(_) => f.write_str("it is not UTF-8 text"),
            TextFileError::NotRegular(what) => {
                write!(f, "it is {what}, not a regular file: only files are read")
            }
        }
    }
}

/// What a file's type is, in words.
fn kind_of(t: std::fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// The text of the regular file `path`, at most `cap` bytes: refused by its
/// size before it is read, and refused when it is not a regular file (a
/// FIFO, a device, a directory), whatever a link leads to.
pub fn read(path: &Path, cap: u64) -> Result<String, TextFileError> {
    read_as(path, cap, false)
}

/// [`read`], for a file the user named: a FIFO or a device (`<(command)`,
/// `/dev/stdin`) is read too, up to one byte past the cap.
pub fn read_named(path: &Path, cap: u64) -> Result<String, TextFileError> {
    read_as(path, cap, true)
}

fn read_as(path: &Path, cap: u64, streams: bool) -> Result<String, TextFileError> {
    // Opened without blocking: a FIFO with no writer opens at once.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(TextFileError::Io)?;
    let meta = file.metadata().map_err(TextFileError::Io)?;
    let regular = meta.is_file();
    if !regular && (!streams || meta.is_dir()) {
        return Err(TextFileError::NotRegular(kind_of(meta.file_type())));
    }
    if regular && meta.len() > cap {
        return Err(TextFileError::TooLarge);
    }
    if !regular {
        // A stream the user named is read as it comes, blocking.
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor this function owns.
        unsafe {
            let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(TextFileError::Io)?;
    if bytes.len() as u64 > cap {
        return Err(TextFileError::TooLarge);
    }
    String::from_utf8(bytes).map_err(TextFileError::NotUtf8)
}

/// The files `pattern` names, relative to `dir`: `*` and `?` match within
/// one path component (not a leading `.`), as a shell's globs do; a pattern
/// without them names one path, returned whether or not it exists.
pub fn glob(dir: &Path, pattern: &str) -> Vec<std::path::PathBuf> {
    use crate::model::glob::{has_wildcard, wildcard};
    use std::path::{Component, PathBuf};
    let path = Path::new(pattern);
    if !has_wildcard(pattern) {
        return vec![dir.join(path)];
    }
    let mut found: Vec<PathBuf> = vec![if path.is_absolute() {
        PathBuf::from("/")
    } else {
        dir.to_path_buf()
    }];
    for component in path.components() {
        let part = match component {
            Component::Normal(p) => p.to_string_lossy().into_owned(),
            Component::ParentDir => "..".into(),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => continue,
        };
        if !has_wildcard(&part) {
            found = found.into_iter().map(|f| f.join(&part)).collect();
            continue;
        }
        let mut next = Vec::new();
        for base in &found {
            let Ok(entries) = std::fs::read_dir(if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base
            }) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| !n.starts_with('.') && wildcard(&part, n))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|n| base.join(n)));
        }
        found = next;
    }
    found.retain(|f| f.is_file());
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_unless_named() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a path in a fresh directory.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let started = std::time::Instant::now();
        assert!(matches!(
            read(&fifo, 1024),
            Err(TextFileError::NotRegular("a FIFO"))
        ));
        assert!(matches!(
            read(dir.path(), 1024),
            Err(TextFileError::NotRegular("a directory"))
        ));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let file = dir.path().join("spec.yaml");
        std::fs::write(&file, "checks: []\n").unwrap();
        assert_eq!(read(&file, 1024).unwrap(), "checks: []\n");
        assert!(matches!(read(&file, 4), Err(TextFileError::TooLarge)));
        // Named by the user: a device is read up to its cap.
        assert!(matches!(
            read_named(Path::new("/dev/zero"), 1024),
            Err(TextFileError::TooLarge)
        ));
    }
}
