//! Reading a text file that infraspec is handed (a spec, an inventory, a
//! variables file, a report), with a cap: a device such as `/dev/zero` or a
//! huge file is refused at once, not read into memory. Each caller words the
//! error for what the file is.

use std::io::Read;
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
}

/// The text of `path`, at most `cap` bytes: a regular file is refused by its
/// size before it is read, anything else after one byte past the cap.
pub fn read(path: &Path, cap: u64) -> Result<String, TextFileError> {
    let file = std::fs::File::open(path).map_err(TextFileError::Io)?;
    if file.metadata().is_ok_and(|m| m.is_file() && m.len() > cap) {
        return Err(TextFileError::TooLarge);
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
