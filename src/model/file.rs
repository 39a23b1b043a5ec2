//! The type of a file, as `stat` and tar headers tell it.

use std::fmt;

/// What kind of file a path is (of what a link points to, where links are
/// followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileType {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A unix socket.
    Socket,
    /// A named pipe (FIFO).
    Pipe,
    /// A block device.
    Block,
    /// A character device.
    Char,
    /// A type no spec names (a door, a whiteout).
    Unknown,
}

impl FileType {
    /// Every type a spec names, in the spelling specs use.
    pub const NAMED: [FileType; 7] = [
        FileType::File,
        FileType::Directory,
        FileType::Symlink,
        FileType::Socket,
        FileType::Pipe,
        FileType::Block,
        FileType::Char,
    ];

    /// `file`, `directory`, `symlink`, `socket`, `pipe`, `block`, `char`
    /// (`unknown`).
    pub fn as_str(self) -> &'static str {
        match self {
            FileType::File => "file",
            FileType::Directory => "directory",
            FileType::Symlink => "symlink",
            FileType::Socket => "socket",
            FileType::Pipe => "pipe",
            FileType::Block => "block",
            FileType::Char => "char",
            FileType::Unknown => "unknown",
        }
    }

    /// The type a spec names, if it is one.
    pub fn named(name: &str) -> Option<FileType> {
        FileType::NAMED.into_iter().find(|t| t.as_str() == name)
    }

    /// From the type bits of `st_mode` (`S_IFMT`).
    pub fn from_mode(raw_mode: u32) -> FileType {
        match raw_mode & 0o170000 {
            0o100000 => FileType::File,
            0o040000 => FileType::Directory,
            0o120000 => FileType::Symlink,
            0o140000 => FileType::Socket,
            0o010000 => FileType::Pipe,
            0o060000 => FileType::Block,
            0o020000 => FileType::Char,
            _ => FileType::Unknown,
        }
    }

    /// The type bits of `st_mode` (`S_IFMT`) for this type (0 for unknown).
    pub fn mode_bits(self) -> u32 {
        match self {
            FileType::File => 0o100000,
            FileType::Directory => 0o040000,
            FileType::Symlink => 0o120000,
            FileType::Socket => 0o140000,
            FileType::Pipe => 0o010000,
            FileType::Block => 0o060000,
            FileType::Char => 0o020000,
            FileType::Unknown => 0,
        }
    }

    /// `a file`, `a directory`, `a block device`…, as messages say it.
    pub fn article(self) -> &'static str {
        match self {
            FileType::File => "a file",
            FileType::Directory => "a directory",
            FileType::Symlink => "a symlink",
            FileType::Socket => "a socket",
            FileType::Pipe => "a pipe",
            FileType::Block => "a block device",
            FileType::Char => "a character device",
            FileType::Unknown => "a file of unknown type",
        }
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_mode_bits_round_trip() {
        for t in FileType::NAMED {
            assert_eq!(FileType::named(t.as_str()), Some(t));
            assert_eq!(FileType::from_mode(t.mode_bits() | 0o644), t);
        }
        assert_eq!(FileType::named("unknown"), None);
        assert_eq!(FileType::from_mode(0), FileType::Unknown);
    }
}
