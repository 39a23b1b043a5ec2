//! Tar read as Go's `archive/tar` reads it, which is how Docker and
//! containerd unpack image layers (and how `docker load` reads an archive).
//!
//! Where readers differ, a layer could show one file to infraspec and
//! another to the engine, so this reader follows Go's rules rather than a
//! general-purpose crate's:
//!
//! - a header is trusted only when its checksum holds; the USTAR prefix is
//!   joined to the name only for USTAR/PAX headers (`ustar\0`), never for GNU
//!   or V7 ones;
//! - a PAX extended header (`x`) applies to the next entry whatever its own
//!   magic says, and within it the **last** record for a key wins; global
//!   headers (`g`) are read and ignored, as containerd ignores them;
//! - PAX headers and GNU long names (`L`, `K`) larger than 1 MiB are refused
//!   (Go's `maxSpecialFileSize`), so a small archive cannot claim gigabytes;
//!   a long name or link is read up to its first NUL and applies only when
//!   that is not empty;
//! - links, directories, devices and FIFOs carry no data, whatever their
//!   size field says (Go skips nothing after them);
//! - GNU sparse files in PAX form (0.0, 0.1, 1.0) take their real name and
//!   size from `GNU.sparse.*`; their map is read so that their content can be
//!   rebuilt.

use std::collections::HashMap;
use std::io::Read;

/// Go's `maxSpecialFileSize`: the most bytes of a PAX header or a GNU long
/// name or link.
pub const MAX_SPECIAL: u64 = 1 << 20;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    HardLink,
    Symlink,
    Char,
    Block,
    Dir,
    Fifo,
    /// A type this reader keeps nothing of (`V` volume labels and the like).
    Other,
}

/// A data region of a sparse file: `len` bytes at `offset` of the real file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub offset: u64,
    pub len: u64,
}

/// One entry, its names and numbers after every PAX and GNU header applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// The file's size (a sparse file's real size).
    pub size: u64,
    pub mtime: i64,
    /// The target of a symbolic or hard link.
    pub link: String,
    /// Where the entry's data starts in the stream, and how many bytes of it
    /// there are (for a sparse file, the packed data after its map).
    pub data_offset: u64,
    pub data_len: u64,
    /// For a sparse file: where its packed data goes in the real file.
    pub sparse: Option<Vec<Extent>>,
}

/// A reader that counts what it consumed.
struct Counted<R> {
    inner: R,
    at: u64,
}

impl<R: Read> Counted<R> {
    fn block(&mut self) -> Result<Option<[u8; 512]>, String> {
        let mut b = [0u8; 512];
        let mut got = 0;
        while got < 512 {
            match self.inner.read(&mut b[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err("the archive ends inside a header".into()),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading the archive failed: {e}")),
            }
        }
        self.at += 512;
        Ok(Some(b))
    }

    /// Reads `n` bytes (then skips to the next 512-byte boundary).
    fn data(&mut self, n: u64) -> Result<Vec<u8>, String> {
        let mut buf = Vec::with_capacity(n as usize);
        (&mut self.inner)
            .take(n)
            .read_to_end(&mut buf)
            .map_err(|e| format!("reading the archive failed: {e}"))?;
        if buf.len() as u64 != n {
            return Err("the archive ends inside an entry's data".into());
        }
        self.at += n;
        self.pad(n)?;
        Ok(buf)
    }

    /// Skips `n` bytes of data and the padding after them.
    fn skip(&mut self, n: u64) -> Result<(), String> {
        let copied = std::io::copy(&mut (&mut self.inner).take(n), &mut std::io::sink())
            .map_err(|e| format!("reading the archive failed: {e}"))?;
        if copied != n {
            return Err("the archive ends inside an entry's data".into());
        }
        self.at += n;
        self.pad(n)
    }

    fn pad(&mut self, n: u64) -> Result<(), String> {
        let pad = (512 - n % 512) % 512;
        let copied = std::io::copy(&mut (&mut self.inner).take(pad), &mut std::io::sink())
            .map_err(|e| format!("reading the archive failed: {e}"))?;
        // The last entry's padding may be missing at the very end.
        self.at += copied;
        Ok(())
    }
}

/// A NUL-terminated string field.
fn string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

/// An octal field (spaces and NULs around it), or base-256 when its first
/// byte has the high bit set, as Go's `parseNumeric` reads them.
fn number(field: &[u8]) -> Result<i64, String> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let negative = field[0] & 0x40 != 0;
        let mut n: i64 = 0;
        for (i, &b) in field.iter().enumerate() {
            let mut b = if negative { !b } else { b };
            if i == 0 {
                b &= 0x7f;
            }
            if n >> 56 != 0 {
                return Err("a numeric field overflows".into());
            }
            n = (n << 8) | i64::from(b);
        }
        return Ok(if negative { !n } else { n });
    }
    let text: String = string(field)
        .trim_matches(|c: char| c == ' ' || c == '\0')
        .to_string();
    if text.is_empty() {
        return Ok(0);
    }
    i64::from_str_radix(&text, 8).map_err(|_| format!("{text:?} is not an octal number"))
}

fn checksum_holds(b: &[u8; 512]) -> bool {
    let Ok(want) = number(&b[148..156]) else {
        return false;
    };
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &x) in b.iter().enumerate() {
        let x = if (148..156).contains(&i) { b' ' } else { x };
        unsigned += i64::from(x);
        signed += i64::from(x as i8);
    }
    want == unsigned || want == signed
}

/// PAX records (`LEN key=value\n`), the last of each key winning.
fn pax_records(data: &[u8], into: &mut HashMap<String, String>) -> Result<(), String> {
    let mut rest = data;
    while !rest.is_empty() {
        let space = rest
            .iter()
            .position(|&b| b == b' ')
            .ok_or("a PAX record has no length")?;
        let len: usize = std::str::from_utf8(&rest[..space])
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or("a PAX record's length is not a number")?;
        if len <= space + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err("a PAX record is cut or malformed".into());
        }
        let record = &rest[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or("a PAX record has no `=`")?;
        let key = String::from_utf8_lossy(&record[..eq]).into_owned();
        let value = String::from_utf8_lossy(&record[eq + 1..]).into_owned();
        // The 0.0 sparse map repeats these keys in order: keep every one.
        if key == "GNU.sparse.offset" || key == "GNU.sparse.numbytes" {
            let all = into.entry(format!("{key}[]")).or_default();
            all.push_str(&value);
            all.push(',');
        } else {
            into.insert(key, value);
        }
        rest = &rest[len..];
    }
    Ok(())
}

fn parse_u64(text: &str, what: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what} {text:?} is not a number"))
}

/// `off,len,off,len…` as extents.
fn extents(numbers: &[u64]) -> Result<Vec<Extent>, String> {
    if !numbers.len().is_multiple_of(2) {
        return Err("a sparse map has an odd count of numbers".into());
    }
    Ok(numbers
        .chunks(2)
        .map(|c| Extent {
            offset: c[0],
            len: c[1],
        })
        .collect())
}

/// Calls `each` for every entry of the tar stream `r`, in order, until it
/// says to stop.
pub fn entries(
    r: impl Read,
    mut each: impl FnMut(Entry) -> Result<std::ops::ControlFlow<()>, String>,
) -> Result<(), String> {
    let mut r = Counted { inner: r, at: 0 };
    let mut pax: HashMap<String, String> = HashMap::new();
    let mut long_name: Option<String> = None;
    let mut long_link: Option<String> = None;
    loop {
        let Some(b) = r.block()? else {
            return Ok(());
        };
        if b.iter().all(|&x| x == 0) {
            // The end: a second zero block, or nothing more.
            return match r.block()? {
                None => Ok(()),
                Some(b2) if b2.iter().all(|&x| x == 0) => Ok(()),
                Some(_) => Err("a zero block in the middle of the archive".into()),
            };
        }
        if !checksum_holds(&b) {
            return Err(format!(
                "an invalid tar header at byte {} (its checksum does not hold)",
                r.at - 512
            ));
        }
        let magic = &b[257..263];
        let version = &b[263..265];
        let ustar = magic == b"ustar\0";
        let typeflag = b[156];
        let size = number(&b[124..136])?;
        if size < 0 {
            return Err("a negative entry size".into());
        }
        let size = size as u64;
        match typeflag {
            b'x' | b'g' => {
                if size > MAX_SPECIAL {
                    return Err(format!(
                        "a PAX header of {size} bytes (more than {MAX_SPECIAL} is refused, as Docker refuses it)"
                    ));
                }
                let data = r.data(size)?;
                if typeflag == b'x' {
                    pax_records(&data, &mut pax)?;
                }
                continue;
            }
            b'L' | b'K' => {
                if size > MAX_SPECIAL {
                    return Err(format!(
                        "a GNU long name of {size} bytes (more than {MAX_SPECIAL} is refused)"
                    ));
                }
                let data = string(&r.data(size)?);
                if typeflag == b'L' {
                    long_name = Some(data);
                } else {
                    long_link = Some(data);
                }
                continue;
            }
            _ => {}
        }
        let mut name = string(&b[0..100]);
        if ustar {
            let prefix = string(&b[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        let _ = version;
        let mut link = string(&b[157..257]);
        let mut entry_size = size;
        let mut uid = number(&b[108..116])? as u64;
        let mut gid = number(&b[116..124])? as u64;
        let mut mtime = number(&b[136..148])?;
        let mode = (number(&b[100..108])? as u32) & 0o7777;
        // PAX records, then GNU long names, as Go applies them.
        if let Some(p) = pax.get("path") {
            name = p.clone();
        }
        if let Some(l) = pax.get("linkpath") {
            link = l.clone();
        }
        if let Some(s) = pax.get("size") {
            entry_size = parse_u64(s, "a PAX size")?;
        }
        if let Some(u) = pax.get("uid") {
            uid = parse_u64(u, "a PAX uid")?;
        }
        if let Some(g) = pax.get("gid") {
            gid = parse_u64(g, "a PAX gid")?;
        }
        if let Some(m) = pax.get("mtime") {
            let whole = m.split('.').next().unwrap_or_default();
            mtime = whole
                .parse()
                .map_err(|_| format!("a PAX mtime {m:?} is not a time"))?;
        }
        // Go applies a GNU long name or link only when it is not empty
        // (its data read up to the first NUL): an empty one leaves the
        // header's own.
        if let Some(n) = long_name.take().filter(|n| !n.is_empty()) {
            name = n;
        }
        if let Some(l) = long_link.take().filter(|l| !l.is_empty()) {
            link = l;
        }
        let kind = match typeflag {
            b'0' | b'7' => Kind::File,
            0 if name.ends_with('/') => Kind::Dir,
            0 => Kind::File,
            b'1' => Kind::HardLink,
            b'2' => Kind::Symlink,
            b'3' => Kind::Char,
            b'4' => Kind::Block,
            b'5' => Kind::Dir,
            b'6' => Kind::Fifo,
            b'S' => Kind::File,
            _ => Kind::Other,
        };
        // Go reads no data after header-only types, whatever their size says.
        let data_len = match kind {
            Kind::HardLink | Kind::Symlink | Kind::Char | Kind::Block | Kind::Dir | Kind::Fifo => 0,
            _ => entry_size,
        };
        let mut entry = Entry {
            name,
            kind,
            mode,
            uid,
            gid,
            size: if kind == Kind::File { entry_size } else { 0 },
            mtime,
            link,
            data_offset: r.at,
            data_len,
            sparse: None,
        };
        if typeflag == b'S' {
            return Err(format!(
                "{}: an old GNU sparse file, which infraspec does not read",
                entry.name
            ));
        }
        // GNU sparse files in PAX form.
        let major = pax.get("GNU.sparse.major").map(String::as_str);
        let minor = pax.get("GNU.sparse.minor").map(String::as_str);
        let sparse_version = match (major, minor) {
            (Some("1"), Some("0")) => Some(true),
            (Some("0"), Some("0" | "1")) => Some(false),
            (None, None)
                if pax.contains_key("GNU.sparse.map")
                    || pax.contains_key("GNU.sparse.offset[]") =>
            {
                Some(false)
            }
            _ => None,
        };
        if let (Some(is_1_0), Kind::File) = (sparse_version, kind) {
            if let Some(n) = pax.get("GNU.sparse.name") {
                entry.name = n.clone();
            }
            if let Some(s) = pax
                .get("GNU.sparse.size")
                .or(pax.get("GNU.sparse.realsize"))
            {
                entry.size = parse_u64(s, "a sparse size")?;
            }
            if is_1_0 {
                // The map opens the data: decimal numbers a line each, in
                // 512-byte blocks: the count, then offset and length pairs.
                let mut text: Vec<u8> = Vec::new();
                let mut used = 0u64;
                let numbers: Vec<u64> = loop {
                    let lines: Vec<&[u8]> = text.split(|&c| c == b'\n').collect();
                    // Every piece but the last ends in a line break.
                    let complete = lines.len() - 1;
                    if complete >= 1 {
                        let count =
                            parse_u64(&String::from_utf8_lossy(lines[0]), "a sparse map count")?;
                        if count > 1 << 20 {
                            return Err("a sparse map with too many entries".into());
                        }
                        if complete as u64 > 2 * count {
                            break lines[1..=2 * count as usize]
                                .iter()
                                .map(|l| {
                                    parse_u64(&String::from_utf8_lossy(l), "a sparse map number")
                                })
                                .collect::<Result<_, _>>()?;
                        }
                    }
                    if used + 512 > entry_size {
                        return Err("a sparse map runs past its entry".into());
                    }
                    let Some(block) = r.block()? else {
                        return Err("the archive ends inside a sparse map".into());
                    };
                    used += 512;
                    text.extend_from_slice(&block);
                };
                entry.sparse = Some(extents(&numbers)?);
                entry.data_offset = r.at;
                entry.data_len = entry_size - used;
            } else {
                let numbers: Vec<u64> = if let Some(map) = pax.get("GNU.sparse.map") {
                    map.split(',')
                        .filter(|s| !s.is_empty())
                        .map(|s| parse_u64(s, "a sparse map number"))
                        .collect::<Result<_, _>>()?
                } else {
                    let offsets = pax.get("GNU.sparse.offset[]").cloned().unwrap_or_default();
                    let lens = pax
                        .get("GNU.sparse.numbytes[]")
                        .cloned()
                        .unwrap_or_default();
                    let o: Vec<&str> = offsets.split(',').filter(|s| !s.is_empty()).collect();
                    let l: Vec<&str> = lens.split(',').filter(|s| !s.is_empty()).collect();
                    if o.len() != l.len() {
                        return Err("a sparse map with unpaired offsets".into());
                    }
                    o.iter()
                        .zip(&l)
                        .flat_map(|(a, b)| {
                            [
                                parse_u64(a, "a sparse offset"),
                                parse_u64(b, "a sparse length"),
                            ]
                        })
                        .collect::<Result<_, _>>()?
                };
                entry.sparse = Some(extents(&numbers)?);
            }
            let packed: u64 = entry.sparse.iter().flatten().map(|e| e.len).sum();
            if packed != entry.data_len
                || entry.sparse.iter().flatten().any(|e| {
                    e.offset
                        .checked_add(e.len)
                        .is_none_or(|end| end > entry.size)
                })
            {
                return Err(format!(
                    "{}: a sparse map that does not fit its data",
                    entry.name
                ));
            }
        }
        pax.clear();
        let data_len = entry.data_len;
        if each(entry)?.is_break() {
            return Ok(());
        }
        r.skip(data_len)?;
    }
}

/// The content of a sparse file from its packed data, holes as zeros, at
/// most `cap` bytes of it.
pub fn unsparse(packed: &[u8], extents: &[Extent], size: u64, cap: usize) -> Vec<u8> {
    let mut out = vec![0u8; size.min(cap as u64) as usize];
    let mut at = 0usize;
    for e in extents {
        let len = e.len as usize;
        let chunk = &packed[at.min(packed.len())..(at + len).min(packed.len())];
        let start = e.offset as usize;
        if start < out.len() {
            let end = (start + chunk.len()).min(out.len());
            out[start..end].copy_from_slice(&chunk[..end - start]);
        }
        at += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw header: `name`, `typeflag`, `size`, a USTAR magic when asked.
    pub fn header(name: &str, typeflag: u8, size: u64, ustar: bool) -> [u8; 512] {
        let mut b = [0u8; 512];
        b[..name.len()].copy_from_slice(name.as_bytes());
        b[100..107].copy_from_slice(b"0000644");
        b[108..115].copy_from_slice(b"0000000");
        b[116..123].copy_from_slice(b"0000000");
        let s = format!("{size:011o}");
        b[124..135].copy_from_slice(s.as_bytes());
        b[136..147].copy_from_slice(b"00000000000");
        b[156] = typeflag;
        if ustar {
            b[257..263].copy_from_slice(b"ustar\0");
            b[263..265].copy_from_slice(b"00");
        }
        b[148..156].copy_from_slice(b"        ");
        let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
        let c = format!("{sum:06o}\0 ");
        b[148..156].copy_from_slice(c.as_bytes());
        b
    }

    pub fn padded(data: &[u8]) -> Vec<u8> {
        let mut v = data.to_vec();
        v.resize(data.len().div_ceil(512) * 512, 0);
        v
    }

    pub fn pax(records: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in records {
            let body = format!(" {k}={v}\n");
            let mut len = body.len() + 1;
            while format!("{len}{body}").len() != len {
                len += 1;
            }
            out.extend_from_slice(format!("{len}{body}").as_bytes());
        }
        out
    }

    fn names(tar: &[u8]) -> Result<Vec<(String, Kind, u64)>, String> {
        let mut out = Vec::new();
        entries(tar, |e| {
            out.push((e.name, e.kind, e.size));
            Ok(std::ops::ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    #[test]
    fn the_last_pax_record_wins_and_needs_no_magic() {
        let records = pax(&[
            ("path", "etc/first"),
            ("path", "etc/evil"),
            ("size", "1"),
            ("size", "3"),
        ]);
        let mut tar = header("./PaxHeaders/x", b'x', records.len() as u64, false).to_vec();
        tar.extend(padded(&records));
        tar.extend(header("short", b'0', 0, true));
        tar.extend(padded(b"abc"));
        tar.extend([0u8; 1024]);
        assert_eq!(
            names(&tar).unwrap(),
            [("etc/evil".to_string(), Kind::File, 3)]
        );
    }

    #[test]
    fn huge_pax_headers_are_refused_before_they_are_read() {
        let tar = header("x", b'x', 1 << 30, true).to_vec();
        let err = names(&tar).unwrap_err();
        assert!(err.contains("refused"), "{err}");
    }

    #[test]
    fn header_only_types_carry_no_data_and_bad_checksums_are_refused() {
        // A directory claiming 512 bytes of data: Go reads none, so the next
        // header follows at once.
        let mut tar = header("d/", b'5', 512, true).to_vec();
        tar.extend(header("d/f", b'0', 0, true));
        tar.extend([0u8; 1024]);
        assert_eq!(
            names(&tar).unwrap(),
            [
                ("d/".to_string(), Kind::Dir, 0),
                ("d/f".to_string(), Kind::File, 0)
            ]
        );
        let mut bad = header("f", b'0', 0, true);
        bad[0] = b'g';
        assert!(names(&bad).unwrap_err().contains("checksum"));
    }

    #[test]
    fn gnu_sparse_1_0_takes_its_real_name_size_and_content() {
        let records = pax(&[
            ("GNU.sparse.major", "1"),
            ("GNU.sparse.minor", "0"),
            ("GNU.sparse.name", "etc/evil"),
            ("GNU.sparse.realsize", "10"),
        ]);
        let map = padded(b"1\n4\n3\n");
        let mut tar = header("x", b'x', records.len() as u64, true).to_vec();
        tar.extend(padded(&records));
        tar.extend(header(
            "GNUSparseFile.0/evil",
            b'0',
            (map.len() + 3) as u64,
            true,
        ));
        tar.extend(&map);
        tar.extend(padded(b"abc"));
        tar.extend([0u8; 1024]);
        let mut got = Vec::new();
        entries(&tar[..], |e| {
            got.push(e);
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .unwrap();
        assert_eq!((got[0].name.as_str(), got[0].size), ("etc/evil", 10));
        let packed = &tar[got[0].data_offset as usize..][..got[0].data_len as usize];
        assert_eq!(
            unsparse(packed, got[0].sparse.as_ref().unwrap(), 10, 100),
            b"\0\0\0\0abc\0\0\0"
        );
    }

    #[test]
    fn numbers_in_octal_and_base_256() {
        assert_eq!(number(b"0000644\0").unwrap(), 0o644);
        assert_eq!(number(b" 755 \0").unwrap(), 0o755);
        assert_eq!(number(&[0x80, 0, 0, 0, 0, 0, 1, 0]).unwrap(), 256);
    }
}
