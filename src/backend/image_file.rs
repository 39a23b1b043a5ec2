//! Image files: `docker-archive:PATH`, `oci-archive:PATH[:REF]`,
//! `oci:DIR[:REF]` and `rootfs:DIR`, read without any engine.
//!
//! Nothing is executed and nothing is contacted. An image's layers are read
//! once, in order, into an index of paths (whiteouts and opaque directories
//! applied, hard links resolved); a file's content is read from its layer
//! when a check asks for it. A root filesystem is read in place. Either way,
//! every path is resolved inside the image: a link is followed relative to
//! the image's root, never to this machine's.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::{components, Backend, BackendError, ExecOutput, PathEntry};
use crate::model::file::FileType;
use crate::model::image::ImageMeta;

pub use crate::model::target::Format;

/// A byte range of a file: a layer, whole or inside an archive.
#[derive(Clone)]
struct Slice {
    file: Arc<File>,
    start: u64,
    len: u64,
}

impl Slice {
    fn whole(file: File) -> std::io::Result<Slice> {
        let len = file.metadata()?.len();
        Ok(Slice {
            file: Arc::new(file),
            start: 0,
            len,
        })
    }

    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let len = len.min(self.len.saturating_sub(offset) as usize);
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, self.start + offset)?;
        Ok(buf)
    }

    fn reader(&self) -> std::io::Result<impl Read + '_> {
        let mut f = &*self.file;
        f.seek(SeekFrom::Start(self.start))?;
        Ok(f.take(self.len))
    }
}

/// One path of a layered image.
#[derive(Clone)]
struct Node {
    file_type: FileType,
    mode: u32,
    uid: u64,
    gid: u64,
    size: u64,
    mtime: i64,
    link_target: Option<String>,
    /// Where a regular file's bytes are: its layer and their offset in it.
    data: Option<(usize, u64)>,
    /// A sparse file: how many packed bytes are stored, and where they go.
    sparse: Option<(u64, Vec<super::ustar::Extent>)>,
}

/// The contents of an image or a root filesystem.
enum Tree {
    /// Layers applied: path (`/etc/passwd`, root is `/`) to node.
    Layered {
        nodes: BTreeMap<String, Node>,
        layers: Vec<Slice>,
    },
    /// A directory on this machine, read in place, through a descriptor of
    /// its root: every path is opened by a walk that follows no link, so a
    /// link swapped in while it is read cannot lead out of the root.
    Dir(std::os::fd::OwnedFd),
}

/// An image file, opened.
pub struct ImageFile {
    shown: String,
    format: Format,
    tree: Tree,
    config: Option<ImageMeta>,
    /// The names the image is known by (`RepoTags`, OCI ref names).
    names: Vec<String>,
    arch: Option<String>,
}

const MEDIA_INDEX: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

fn io_err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

impl ImageFile {
    /// Opens the image file at `path` (an OCI ref after it for OCI layouts).
    pub fn open(
        shown: &str,
        format: Format,
        path: &str,
        reference: Option<&str>,
    ) -> Result<ImageFile, BackendError> {
        let connect = |message: String| BackendError::Connect {
            target: shown.to_string(),
            message,
        };
        let mut image = ImageFile {
            shown: shown.to_string(),
            format,
            tree: Tree::Layered {
                nodes: BTreeMap::new(),
                layers: Vec::new(),
            },
            config: None,
            names: Vec::new(),
            arch: None,
        };
        match format {
            Format::Rootfs => {
                let dir = Path::new(path);
                let meta = std::fs::metadata(dir).map_err(|e| connect(io_err(path, e)))?;
                if !meta.is_dir() {
                    return Err(connect(format!("{path} is not a directory")));
                }
                let root = nofollow::open_dir(None, path).map_err(|e| connect(io_err(path, e)))?;
                image.tree = Tree::Dir(root);
            }
            Format::DockerArchive => {
                let archive = Archive::open(path).map_err(connect)?;
                let manifest: serde_json::Value = archive.json("manifest.json").map_err(connect)?;
                let images = manifest
                    .as_array()
                    .ok_or_else(|| connect("manifest.json is not a list".into()))?;
                let one = match images.as_slice() {
                    [one] => one,
                    [] => return Err(connect("the archive holds no image".into())),
                    many => {
                        let tags: Vec<String> =
                            many.iter().map(|m| m["RepoTags"].to_string()).collect();
                        return Err(connect(format!(
                            "the archive holds {} images ({}); save one image per archive",
                            many.len(),
                            tags.join(", ")
                        )));
                    }
                };
                image.names = strings(&one["RepoTags"]);
                let config_name = one["Config"]
                    .as_str()
                    .ok_or_else(|| connect("manifest.json names no Config".into()))?;
                let config = archive.json(config_name).map_err(connect)?;
                image.read_config(&config);
                let diff_ids = strings(&config["rootfs"]["diff_ids"]);
                let names = one["Layers"].as_array().cloned().unwrap_or_default();
                if diff_ids.len() != names.len() {
                    return Err(connect(format!(
                        "manifest.json lists {} layer(s) and the config {} diff_id(s)",
                        names.len(),
                        diff_ids.len()
                    )));
                }
                let mut layers = Vec::new();
                for (layer, diff_id) in names.iter().zip(diff_ids) {
                    let name = layer
                        .as_str()
                        .ok_or_else(|| connect("a layer is not named".into()))?;
                    layers.push(Layer {
                        slice: archive.slice(name).map_err(connect)?,
                        digest: None,
                        diff_id: Some(diff_id),
                    });
                }
                image.tree = layered(layers).map_err(connect)?;
            }
            Format::OciArchive | Format::OciDir => {
                let store = if format == Format::OciDir {
                    Archive::dir(path).map_err(connect)?
                } else {
                    Archive::open(path).map_err(connect)?
                };
                let index: serde_json::Value = store.json("index.json").map_err(connect)?;
                let manifest = select_manifest(&store, &index, reference).map_err(connect)?;
                let (names, manifest) = manifest;
                image.names = names;
                let config = store.verified_json(&manifest["config"]).map_err(connect)?;
                image.read_config(&config);
                let diff_ids = strings(&config["rootfs"]["diff_ids"]);
                let descriptors = manifest["layers"].as_array().cloned().unwrap_or_default();
                if !diff_ids.is_empty() && diff_ids.len() != descriptors.len() {
                    return Err(connect(format!(
                        "the manifest lists {} layer(s) and the config {} diff_id(s)",
                        descriptors.len(),
                        diff_ids.len()
                    )));
                }
                let mut layers = Vec::new();
                for (n, layer) in descriptors.iter().enumerate() {
                    let media = layer["mediaType"].as_str().unwrap_or_default();
                    if media.contains("zstd") {
                        return Err(connect(format!(
                            "layer {} is zstd-compressed ({media}), which infraspec does not read",
                            layer["digest"].as_str().unwrap_or("?")
                        )));
                    }
                    layers.push(Layer {
                        slice: store
                            .slice(&blob_path(layer).map_err(connect)?)
                            .map_err(connect)?,
                        digest: layer["digest"].as_str().map(str::to_string),
                        diff_id: diff_ids.get(n).cloned(),
                    });
                }
                image.tree = layered(layers).map_err(connect)?;
            }
        }
        Ok(image)
    }

    fn read_config(&mut self, config: &serde_json::Value) {
        self.arch = config["architecture"].as_str().map(str::to_string);
        self.config = Some(ImageMeta::from_config(&config["config"]));
    }

    /// A filesystem in one tar (a container's export), with no config.
    pub fn from_tar(shown: &str, file: File) -> Result<ImageFile, String> {
        let slice = Slice::whole(file).map_err(|e| io_err("an export", e))?;
        Ok(ImageFile {
            shown: shown.to_string(),
            format: Format::Rootfs,
            tree: layered(vec![Layer {
                slice,
                digest: None,
                diff_id: None,
            }])?,
            config: None,
            names: Vec::new(),
            arch: None,
        })
    }

    /// Which kind of image file (`oci-archive`, `rootfs`…).
    pub fn kind(&self) -> &'static str {
        self.format.prefix()
    }

    /// The image's architecture as its config names it (`amd64`).
    pub fn arch(&self) -> Option<&str> {
        self.arch.as_deref()
    }

    /// Looks up `path` as `lstat` would, resolving links in the directories
    /// on the way inside the image.
    fn lookup(&self, path: &str) -> Result<Option<(String, PathEntry)>, String> {
        let Some(real) = self.resolve_parents(path)? else {
            return Ok(None);
        };
        Ok(self.entry_exact(&real)?.map(|e| (real, e)))
    }

    /// The path with every directory on the way resolved (links followed
    /// inside the image), the last component as it is; `None` when a
    /// directory on the way does not exist or is not one.
    fn resolve_parents(&self, path: &str) -> Result<Option<String>, String> {
        super::resolve_path(path, false, &mut |p| self.entry_exact(p))
    }

    /// The entry at a path whose directories are all real ones.
    fn entry_exact(&self, path: &str) -> Result<Option<PathEntry>, String> {
        self.entry_capped(path, crate::probe::OUTPUT_CAP)
    }

    /// As [`entry_exact`](Self::entry_exact), keeping up to `cap` bytes of
    /// a regular file's content.
    fn entry_capped(&self, path: &str, cap: usize) -> Result<Option<PathEntry>, String> {
        match &self.tree {
            Tree::Layered { nodes, layers } => {
                let Some(node) = nodes.get(path) else {
                    return Ok(None);
                };
                let (content, truncated) = match (&node.data, &node.sparse) {
                    (Some((layer, offset)), Some((packed, extents))) => {
                        let bytes = layers[*layer]
                            .read_at(*offset, (*packed as usize).min(cap))
                            .map_err(|e| format!("reading {path} from the image: {e}"))?;
                        (
                            super::ustar::unsparse(&bytes, extents, node.size, cap),
                            node.size > cap as u64,
                        )
                    }
                    (Some((layer, offset)), None) => {
                        let bytes = layers[*layer]
                            .read_at(*offset, (node.size as usize).min(cap))
                            .map_err(|e| format!("reading {path} from the image: {e}"))?;
                        if (bytes.len() as u64) < node.size.min(cap as u64) {
                            return Err(format!("{path}: its layer ends before its data"));
                        }
                        (bytes, node.size > cap as u64)
                    }
                    _ => (Vec::new(), false),
                };
                Ok(Some(PathEntry {
                    file_type: node.file_type,
                    mode: node.mode,
                    uid: node.uid,
                    gid: node.gid,
                    size: node.size,
                    mtime: node.mtime,
                    link_target: node.link_target.clone(),
                    content,
                    truncated,
                }))
            }
            Tree::Dir(root) => nofollow::entry(root, path, cap),
        }
    }
}

/// Reading a root filesystem in place without following a link out of it.
///
/// [`ImageFile`] resolves links itself, inside the root, and asks for paths
/// whose directories are all real ones. Each component is then opened with
/// `O_NOFOLLOW` from the descriptor of the one before, starting at the root's
/// descriptor: a directory swapped for a link meanwhile fails the walk
/// (`ELOOP`/`ENOTDIR`) instead of leading elsewhere. A regular file's content
/// is read from a descriptor opened the same way and checked to be the inode
/// that was described.
mod nofollow {
    use std::fs::File;
    use std::io::Read;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    use super::{FileType, PathEntry};

    use super::super::open_at;

    /// A directory, opened to walk from (links in `path` are followed: the
    /// root as the user names it).
    pub(super) fn open_dir(dir: Option<&OwnedFd>, path: &str) -> std::io::Result<OwnedFd> {
        open_at(dir, path, libc::O_PATH | libc::O_DIRECTORY)
    }

    /// Opens `path` below `root` following no link; `None` when a
    /// component does not exist. The parent's descriptor comes along.
    fn walk(
        root: &OwnedFd,
        path: &str,
        last: libc::c_int,
    ) -> Result<Option<(OwnedFd, OwnedFd)>, String> {
        let parts = super::components(path);
        let mut dir = root.try_clone().map_err(|e| format!("{path}: {e}"))?;
        let Some((name, dirs)) = parts.split_last() else {
            let again = dir.try_clone().map_err(|e| format!("{path}: {e}"))?;
            return Ok(Some((dir, again)));
        };
        let changed = |e: std::io::Error| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => Err(format!(
                "{path}: a directory on the way is not one any more (changed while it was read)"
            )),
            _ => Err(format!("{path}: {e}")),
        };
        for d in dirs {
            dir = match open_at(
                Some(&dir),
                d,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            ) {
                Ok(fd) => fd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return changed(e),
            };
        }
        match open_at(Some(&dir), name, last | libc::O_NOFOLLOW) {
            Ok(fd) => Ok(Some((dir, fd))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => changed(e),
        }
    }

    fn fstat(fd: &OwnedFd) -> std::io::Result<std::fs::Metadata> {
        // An O_PATH descriptor is fstat-able; std reads its metadata through
        // a borrowed File without closing it.
        // SAFETY: the descriptor stays open (owned by `fd`) and the File is
        // never dropped, so it is not closed twice.
        let file = std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd.as_raw_fd()) });
        file.metadata()
    }

    /// The entry at `path` (every directory on the way a real one), as
    /// `lstat` and a read of it describe it.
    pub(super) fn entry(
        root: &OwnedFd,
        path: &str,
        cap: usize,
    ) -> Result<Option<PathEntry>, String> {
        let Some((parent, fd)) = walk(root, path, libc::O_PATH)? else {
            return Ok(None);
        };
        let meta = fstat(&fd).map_err(|e| format!("{path}: {e}"))?;
        let ft = meta.file_type();
        let file_type = if ft.is_symlink() {
            FileType::Symlink
        } else if ft.is_dir() {
            FileType::Directory
        } else if ft.is_file() {
            FileType::File
        } else if ft.is_fifo() {
            FileType::Pipe
        } else if ft.is_socket() {
            FileType::Socket
        } else if ft.is_block_device() {
            FileType::Block
        } else {
            FileType::Char
        };
        let mut content = Vec::new();
        let mut truncated = false;
        if file_type == FileType::File {
            let name = super::components(path).pop().unwrap_or_default();
            let readable = open_at(
                Some(&parent),
                &name,
                libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK,
            )
            .map_err(|e| format!("{path}: {e}"))?;
            let file = File::from(readable);
            let now = file.metadata().map_err(|e| format!("{path}: {e}"))?;
            if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
                return Err(format!("{path}: replaced while it was read"));
            }
            let cap = cap as u64;
            file.take(cap)
                .read_to_end(&mut content)
                .map_err(|e| format!("{path}: {e}"))?;
            truncated = meta.len() > cap;
        }
        let link_target = if file_type == FileType::Symlink {
            let mut buf = vec![0u8; 4096];
            // SAFETY: readlinkat on an O_PATH descriptor of the link with an
            // empty name reads that link; the buffer outlives the call.
            let n = unsafe {
                libc::readlinkat(
                    fd.as_raw_fd(),
                    c"".as_ptr(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                )
            };
            if n < 0 {
                return Err(format!("{path}: {}", std::io::Error::last_os_error()));
            }
            buf.truncate(n as usize);
            Some(String::from_utf8_lossy(&buf).into_owned())
        } else {
            None
        };
        Ok(Some(PathEntry {
            file_type,
            mode: meta.mode() & 0o7777,
            uid: meta.uid() as u64,
            gid: meta.gid() as u64,
            size: meta.len(),
            mtime: meta.mtime(),
            link_target,
            content,
            truncated,
        }))
    }

    /// The names in the real directory `path`, sorted.
    pub(super) fn children(root: &OwnedFd, path: &str) -> Result<Vec<String>, String> {
        let Some((_, fd)) = walk(root, path, libc::O_PATH | libc::O_DIRECTORY)? else {
            return Err(format!("{path}: no such directory"));
        };
        // The descriptor's own directory, through its /proc/self/fd link.
        let mut names: Vec<String> = std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd()))
            .map_err(|e| format!("{path}: {e}"))?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{path}: {e}"))?;
        names.sort();
        Ok(names)
    }
}

fn join(parts: &[String]) -> String {
    format!("/{}", parts.join("/"))
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

/// `blobs/sha256/HEX` for a descriptor, its digest checked for shape.
fn blob_path(descriptor: &serde_json::Value) -> Result<String, String> {
    let digest = descriptor["digest"]
        .as_str()
        .ok_or("a descriptor has no digest")?;
    let (algo, hex) = digest
        .split_once(':')
        .ok_or_else(|| format!("bad digest {digest:?}"))?;
    if algo.is_empty()
        || hex.is_empty()
        || !algo.chars().all(|c| c.is_ascii_alphanumeric())
        || !hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        return Err(format!("bad digest {digest:?}"));
    }
    Ok(format!("blobs/{algo}/{hex}"))
}

/// The image manifest an OCI index names: by `ref` when given (its
/// `org.opencontainers.image.ref.name`), else the only one. A nested index
/// (several platforms) gives this machine's architecture.
fn select_manifest(
    store: &Archive,
    index: &serde_json::Value,
    reference: Option<&str>,
) -> Result<(Vec<String>, serde_json::Value), String> {
    let manifests = index["manifests"]
        .as_array()
        .ok_or("index.json lists no manifests")?;
    let ref_of = |m: &serde_json::Value| {
        m["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .map(str::to_string)
    };
    let chosen = match reference {
        Some(r) => manifests
            .iter()
            .find(|m| ref_of(m).as_deref() == Some(r))
            .ok_or_else(|| {
                let refs: Vec<String> = manifests.iter().filter_map(ref_of).collect();
                format!(
                    "no image named {r:?} in the layout (it holds: {})",
                    if refs.is_empty() {
                        "no named images".to_string()
                    } else {
                        refs.join(", ")
                    }
                )
            })?,
        None => match manifests.as_slice() {
            [one] => one,
            [] => return Err("the layout holds no image".into()),
            many => {
                let refs: Vec<String> = many.iter().filter_map(ref_of).collect();
                return Err(format!(
                    "the layout holds {} images ({}); name one after a colon",
                    many.len(),
                    refs.join(", ")
                ));
            }
        },
    };
    let names: Vec<String> = ref_of(chosen).into_iter().collect();
    let mut doc: serde_json::Value = store.verified_json(chosen)?;
    for _ in 0..4 {
        let media = doc["mediaType"].as_str().unwrap_or_default();
        if !MEDIA_INDEX.contains(&media) && doc.get("manifests").is_none() {
            return Ok((names, doc));
        }
        let want = crate::model::facts::oci_arch(std::env::consts::ARCH);
        let list = doc["manifests"].as_array().cloned().unwrap_or_default();
        let pick = list
            .iter()
            .find(|m| m["platform"]["architecture"].as_str() == Some(want))
            .or(list.first())
            .ok_or("an image index lists no manifests")?;
        doc = store.verified_json(pick)?;
    }
    Err("image indexes nest too deep".into())
}

/// A tar file or a directory whose members are read by name.
enum Archive {
    Tar {
        path: String,
        file: Arc<File>,
        members: BTreeMap<String, (u64, u64)>,
    },
    Dir(PathBuf),
}

/// Archive member names without `./`.
fn member_name(name: &str) -> String {
    name.trim_start_matches("./").to_string()
}

impl Archive {
    fn open(path: &str) -> Result<Archive, String> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let mut members = BTreeMap::new();
        // Read as `docker load` reads it (Go's archive/tar rules).
        super::ustar::entries(std::io::BufReader::new(&file), |e| {
            if e.kind == super::ustar::Kind::File {
                members.insert(member_name(&e.name), (e.data_offset, e.data_len));
            }
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .map_err(|e| format!("{path} is not a tar archive infraspec can read: {e}"))?;
        if members.is_empty() {
            return Err(format!("{path} is empty or not a tar archive"));
        }
        Ok(Archive::Tar {
            path: path.to_string(),
            file: Arc::new(file),
            members,
        })
    }

    fn dir(path: &str) -> Result<Archive, String> {
        let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
        if !meta.is_dir() {
            return Err(format!("{path} is not a directory"));
        }
        Ok(Archive::Dir(PathBuf::from(path)))
    }

    fn slice(&self, name: &str) -> Result<Slice, String> {
        let name = member_name(name);
        if name.split('/').any(|c| c == "..") {
            return Err(format!("refused member name {name:?}"));
        }
        match self {
            Archive::Tar {
                path,
                file,
                members,
            } => {
                let (start, len) = members
                    .get(&name)
                    .ok_or_else(|| format!("{path} has no {name}"))?;
                Ok(Slice {
                    file: file.clone(),
                    start: *start,
                    len: *len,
                })
            }
            Archive::Dir(dir) => {
                let p = dir.join(&name);
                let f = File::open(&p).map_err(|e| io_err(&p.to_string_lossy(), e))?;
                Slice::whole(f).map_err(|e| io_err(&name, e))
            }
        }
    }

    /// A blob a descriptor names, as JSON, its digest verified.
    fn verified_json(&self, descriptor: &serde_json::Value) -> Result<serde_json::Value, String> {
        let name = blob_path(descriptor)?;
        let digest = descriptor["digest"].as_str().unwrap_or_default();
        let slice = self.slice(&name)?;
        if slice.len > 16 << 20 {
            return Err(format!("{name} is too large to be image metadata"));
        }
        let bytes = slice
            .read_at(0, slice.len as usize)
            .map_err(|e| io_err(&name, e))?;
        let (mut h, want) = Hasher::for_digest(digest)?;
        h.update(&bytes);
        let got = h.hex();
        if got != want {
            return Err(format!(
                "{name} does not match its digest {digest} (its bytes hash to {got}): the image file is corrupt or was altered"
            ));
        }
        serde_json::from_slice(&bytes).map_err(|e| format!("{name} is not valid JSON: {e}"))
    }

    fn json(&self, name: &str) -> Result<serde_json::Value, String> {
        let slice = self.slice(name)?;
        if slice.len > 16 << 20 {
            return Err(format!("{name} is too large to be image metadata"));
        }
        let bytes = slice
            .read_at(0, slice.len as usize)
            .map_err(|e| io_err(name, e))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{name} is not valid JSON: {e}"))
    }
}

/// A file in the temporary directory that has no name: it is gone when
/// closed, whatever ends the process.
pub fn unnamed_temp_file() -> Result<File, String> {
    let path = std::env::temp_dir().join(format!(
        ".infraspec-{}-{}",
        std::process::id(),
        crate::probe::nonce()
    ));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| io_err(&path.to_string_lossy(), e))?;
    let _ = std::fs::remove_file(&path);
    Ok(file)
}

/// How much one layer may unpack to by default: a small gzip stream can
/// expand without end, and is refused past this.
pub const MAX_LAYER_UNPACKED: u64 = 16 << 30;

/// The environment variable that sets another limit (`64GiB`, `512MiB`).
pub const MAX_LAYER_ENV: &str = "INFRASPEC_MAX_LAYER_SIZE";

/// The limit on one layer's unpacked size: [`MAX_LAYER_ENV`], else
/// [`MAX_LAYER_UNPACKED`].
fn max_layer_unpacked() -> Result<u64, String> {
    let Some(text) = std::env::var_os(MAX_LAYER_ENV) else {
        return Ok(MAX_LAYER_UNPACKED);
    };
    let text = text.to_string_lossy();
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let shift = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => 64,
    };
    num.parse::<u64>()
        .ok()
        .filter(|n| *n > 0 && shift < 64)
        .and_then(|n| n.checked_mul(1u64 << shift))
        .ok_or_else(|| format!("{MAX_LAYER_ENV}={text:?} is not a size like 32GiB or 512MiB"))
}

/// A digest (`sha256:HEX`, `sha512:HEX`) being computed.
enum Hasher {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn for_digest(digest: &str) -> Result<(Hasher, String), String> {
        use sha2::Digest;
        let (algo, hex) = digest
            .split_once(':')
            .ok_or_else(|| format!("bad digest {digest:?}"))?;
        let h = match algo {
            "sha256" => Hasher::Sha256(sha2::Sha256::new()),
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            other => {
                return Err(format!(
                    "digest algorithm {other:?} is not one infraspec verifies"
                ))
            }
        };
        Ok((h, hex.to_ascii_lowercase()))
    }

    fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    fn hex(self) -> String {
        use sha2::Digest;
        let bytes = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A writer that hashes what passes through it and counts it.
struct Hashing<W> {
    inner: W,
    hasher: Option<Hasher>,
    written: u64,
    cap: u64,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() as u64 > self.cap {
            return Err(std::io::Error::other(format!(
                "the layer unpacks to more than {} MiB, which infraspec refuses (set {MAX_LAYER_ENV}, e.g. 64GiB, to allow more)",
                self.cap >> 20
            )));
        }
        let n = self.inner.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A layer and what its bytes must hash to.
pub(crate) struct Layer {
    slice: Slice,
    /// The digest of the blob as stored (OCI descriptors).
    digest: Option<String>,
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    diff_id: Option<String>,
}

/// A layer as a plain tar, its digests verified first: a gzip layer (every
/// member of it, as Go's gzip reader reads them) is unpacked to an unnamed
/// temporary file.
fn plain_layer(i: usize, layer: Layer) -> Result<Slice, String> {
    let Layer {
        slice,
        digest,
        diff_id,
    } = layer;
    // Every byte of a stored layer through a hasher.
    let hash_all = |mut h: Hasher| -> Result<String, String> {
        let mut reader = slice.reader().map_err(|e| io_err("a layer", e))?;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| format!("layer {i}: reading it failed: {e}"))?;
            if n == 0 {
                return Ok(h.hex());
            }
            h.update(&buf[..n]);
        }
    };
    if let Some(digest) = &digest {
        let (h, want) = Hasher::for_digest(digest)?;
        let got = hash_all(h)?;
        if got != want {
            return Err(format!(
                "layer {i}: its blob does not match its digest {digest} (its bytes hash to {got}): the image file is corrupt or was altered"
            ));
        }
    }
    let head = slice.read_at(0, 2).map_err(|e| io_err("a layer", e))?;
    let gzip = head == [0x1f, 0x8b];
    let (hasher, want) = match &diff_id {
        Some(d) => {
            let (h, want) = Hasher::for_digest(d)?;
            (Some(h), Some(want))
        }
        None => (None, None),
    };
    let (plain, got) = if gzip {
        let out = unnamed_temp_file()?;
        let mut w = Hashing {
            inner: out,
            hasher,
            written: 0,
            cap: max_layer_unpacked()?,
        };
        let reader = slice.reader().map_err(|e| io_err("a layer", e))?;
        std::io::copy(&mut flate2::read::MultiGzDecoder::new(reader), &mut w)
            .map_err(|e| format!("layer {i}: unpacking its gzip stream failed: {e}"))?;
        let got = w.hasher.map(Hasher::hex);
        (
            Slice::whole(w.inner).map_err(|e| io_err("a layer", e))?,
            got,
        )
    } else {
        let got = hasher.map(hash_all).transpose()?;
        (slice, got)
    };
    if let (Some(want), Some(got)) = (want, got) {
        if want != got {
            return Err(format!(
                "layer {i}: its content does not match the config's diff_id {} (it hashes to {got}): the image file is corrupt or was altered",
                diff_id.unwrap_or_default()
            ));
        }
    }
    Ok(plain)
}

/// Resolves `parts` inside the image as containerd's `fs.RootPath` does:
/// links followed (absolute ones from the image's root), `..` never above
/// the root; where no link is on the way, every engine agrees. When `create`
/// (an entry's parents), a missing directory is made (0755, as the engines
/// make them), and a link on the way is an error: Docker refuses to write
/// through it and containerd follows it. A non-directory on the way is an
/// error, as the engines' unpacking fails on it.
fn resolve_in(
    nodes: &mut BTreeMap<String, Node>,
    parts: &[String],
    create: bool,
) -> Result<Option<String>, String> {
    let mut pending: Vec<String> = parts.iter().rev().cloned().collect();
    let mut at: Vec<String> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            at.pop();
            continue;
        }
        if part == "." || part.is_empty() {
            continue;
        }
        at.push(part);
        let key = join(&at);
        match nodes.get(&key) {
            None if create => {
                nodes.insert(key, dir_node());
            }
            None => return Ok(None),
            // An entry written through a link: containerd follows the link,
            // Docker's own unpacker refuses the layer. Engines disagree, so
            // no answer is read from such an image.
            Some(n) if n.file_type == FileType::Symlink && create => {
                return Err(format!(
                    "an entry is written through the link {key} (-> {}): Docker refuses such a layer and containerd follows the link, so infraspec reads no answer from it",
                    n.link_target.as_deref().unwrap_or_default()
                ));
            }
            Some(n) if n.file_type == FileType::Symlink => {
                hops += 1;
                if hops > 255 {
                    return Err(format!(
                        "{}: too many levels of symbolic links",
                        join(parts)
                    ));
                }
                let target = n.link_target.clone().unwrap_or_default();
                at.pop();
                if target.starts_with('/') {
                    at.clear();
                }
                pending.extend(target.split('/').rev().map(str::to_string));
            }
            Some(n) if n.file_type == FileType::Directory => {}
            Some(_) if pending.is_empty() && !create => {}
            Some(_) => return Err(format!("{key} is not a directory")),
        }
    }
    Ok(Some(join(&at)))
}

/// A tar name cleaned as Go's `filepath.Clean` cleans it: `.` and empty
/// components dropped, `x/..` folded; a leading `..` stays (the root clamps
/// it when the path is resolved).
fn clean(name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| l != "..") => {
                out.pop();
            }
            other => out.push(other.to_string()),
        }
    }
    out
}

/// Applies `layers` in order, each entry as containerd applies it: its
/// parent resolved inside the image (links followed, also those made earlier
/// in the same layer), whiteouts and opaque directories as they come, and
/// what is at the path replaced unless both are directories.
fn layered(layers: Vec<Layer>) -> Result<Tree, String> {
    use super::ustar::Kind;
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    nodes.insert("/".into(), dir_node());
    let mut plain = Vec::new();
    for (i, layer) in layers.into_iter().enumerate() {
        let layer = plain_layer(i, layer)?;
        let mut unpacked: std::collections::HashSet<String> = std::collections::HashSet::new();
        // Each entry's name, cleaned, and the paths this layer whited out.
        let mut names: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut whited: Vec<String> = Vec::new();
        let reader = layer.reader().map_err(|e| io_err("a layer", e))?;
        super::ustar::entries(reader, |entry| {
            let parts = clean(&entry.name);
            if !names.insert(join(&parts)) {
                return Err(format!(
                    "{} appears twice in the layer: Docker refuses such a layer (\"duplicates of file paths not supported\") and containerd keeps the last, so infraspec reads no answer from it",
                    crate::model::text::escape_line(&entry.name)
                ));
            }
            let Some((base, parent)) = parts.split_last() else {
                return Ok(std::ops::ControlFlow::Continue(()));
            };
            let Some(parent) = resolve_in(&mut nodes, parent, true)? else {
                return Ok(std::ops::ControlFlow::Continue(()));
            };
            let under = |name: &str| {
                if parent == "/" {
                    format!("/{name}")
                } else {
                    format!("{parent}/{name}")
                }
            };
            if base == ".wh..wh..opq" {
                // An opaque directory: what is below it and was not unpacked
                // from this layer goes.
                let prefix = under("");
                let gone: Vec<String> = nodes
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, _)| k.clone())
                    .filter(|k| !unpacked.contains(k))
                    .collect();
                for k in gone {
                    nodes.remove(&k);
                }
                return Ok(std::ops::ControlFlow::Continue(()));
            }
            if let Some(hidden) = base.strip_prefix(".wh.") {
                let hidden = under(hidden);
                let below = format!("{hidden}/");
                if unpacked
                    .iter()
                    .any(|p| *p == hidden || p.starts_with(&below))
                {
                    return Err(format!(
                        "{} whites out {hidden} after the same layer wrote it: Docker refuses such a layer (its whiteout cannot be made over a file of its own) and containerd removes it, so infraspec reads no answer from it",
                        crate::model::text::escape_line(&entry.name)
                    ));
                }
                remove_under(&mut nodes, &hidden, true);
                whited.push(hidden);
                return Ok(std::ops::ControlFlow::Continue(()));
            }
            if base == ".." {
                return Ok(std::ops::ControlFlow::Continue(()));
            }
            let path = under(base);
            let is_dir = entry.kind == Kind::Dir;
            for w in &whited {
                if path.starts_with(&format!("{w}/")) {
                    return Err(format!(
                        "{} is written below {w}, which the same layer whited out: Docker refuses such a layer (the whiteout is not a directory) and containerd makes a new one, so infraspec reads no answer from it",
                        crate::model::text::escape_line(&entry.name)
                    ));
                }
                if path == *w && is_dir {
                    return Err(format!(
                        "{} is a directory again after the same layer whited it out: Docker with overlay2 merges the lower directory back into it and copying snapshotters do not, so infraspec reads no answer from it",
                        crate::model::text::escape_line(&entry.name)
                    ));
                }
            }
            if let Some(existing) = nodes.get(&path) {
                if !(existing.file_type == FileType::Directory && is_dir) {
                    remove_under(&mut nodes, &path, true);
                }
            }
            let node = match entry.kind {
                Kind::Other => return Ok(std::ops::ControlFlow::Continue(())),
                Kind::HardLink => {
                    let target =
                        resolve_in(&mut nodes, &clean(&entry.link), false)?.ok_or_else(|| {
                            format!("layer {i}: hard link {path} to missing {}", entry.link)
                        })?;
                    if !unpacked.contains(&target) {
                        return Err(format!(
                            "hard link {path} to {target}, a file of a lower layer: Docker (overlay2) refuses such a layer and copying snapshotters accept it, so infraspec reads no answer from it"
                        ));
                    }
                    nodes
                        .get(&target)
                        .cloned()
                        .ok_or_else(|| format!("layer {i}: hard link {path} to missing {target}"))?
                }
                kind => {
                    let file_type = match kind {
                        Kind::File => FileType::File,
                        Kind::Dir => FileType::Directory,
                        Kind::Symlink => FileType::Symlink,
                        Kind::Char => FileType::Char,
                        Kind::Block => FileType::Block,
                        _ => FileType::Pipe,
                    };
                    Node {
                        file_type,
                        mode: entry.mode,
                        uid: entry.uid,
                        gid: entry.gid,
                        size: entry.size,
                        mtime: entry.mtime,
                        link_target: (kind == Kind::Symlink).then(|| entry.link.clone()),
                        data: (kind == Kind::File).then_some((i, entry.data_offset)),
                        sparse: entry.sparse.clone().map(|e| (entry.data_len, e)),
                    }
                }
            };
            nodes.insert(path.clone(), node);
            unpacked.insert(path);
            Ok(std::ops::ControlFlow::Continue(()))
        })
        .map_err(|e| format!("layer {i}: {e}"))?;
        plain.push(layer);
    }
    Ok(Tree::Layered {
        nodes,
        layers: plain,
    })
}

fn dir_node() -> Node {
    Node {
        file_type: FileType::Directory,
        mode: 0o755,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        link_target: None,
        data: None,
        sparse: None,
    }
}

/// Removes what is below `path` (and `path` itself when `itself`).
fn remove_under(nodes: &mut BTreeMap<String, Node>, path: &str, itself: bool) {
    if itself {
        nodes.remove(path);
    }
    let prefix = if path == "/" {
        "/".to_string()
    } else {
        format!("{path}/")
    };
    let below: Vec<String> = nodes
        .range(prefix.clone()..)
        .take_while(|(k, _)| k.starts_with(&prefix))
        .map(|(k, _)| k.clone())
        .filter(|k| k != "/")
        .collect();
    for k in below {
        nodes.remove(&k);
    }
}

impl Backend for ImageFile {
    fn exec(
        &self,
        argv: &[String],
        _stdin: &[u8],
        _timeout: Duration,
    ) -> Result<ExecOutput, BackendError> {
        Err(BackendError::Exec {
            target: self.shown.clone(),
            command: argv.join(" "),
            message: NOTHING_RUNS.into(),
        })
    }

    fn target(&self) -> String {
        self.shown.clone()
    }

    fn image_file(&self) -> Option<&ImageFile> {
        Some(self)
    }

    fn read_path(&self, path: &str) -> Result<Option<PathEntry>, BackendError> {
        self.lookup(path)
            .map(|found| found.map(|(_, e)| e))
            .map_err(|message| BackendError::Exec {
                target: self.shown.clone(),
                command: format!("read {path} from the image"),
                message,
            })
    }

    fn read_whole(&self, path: &str, cap: usize) -> Result<Option<Vec<u8>>, BackendError> {
        let fail = |message: String| BackendError::Exec {
            target: self.shown.clone(),
            command: format!("read {path} from the image"),
            message,
        };
        let Some(real) = self.resolve_parents(path).map_err(fail)? else {
            return Ok(None);
        };
        match self.entry_capped(&real, cap).map_err(fail)? {
            Some(e) if e.truncated => Err(fail(format!(
                "{path} is larger than the {} MiB infraspec reads of a database",
                cap >> 20
            ))),
            Some(e) => Ok(Some(e.content)),
            None => Ok(None),
        }
    }

    fn list_path(&self, dir: &str) -> Result<Option<Vec<String>>, BackendError> {
        let fail = |message: String| BackendError::Exec {
            target: self.shown.clone(),
            command: format!("list {dir} in the image"),
            message,
        };
        // The directory itself, links followed.
        let real = super::resolve_path(dir, true, &mut |p| self.entry_exact(p)).map_err(fail)?;
        match real {
            Some(real)
                if self
                    .entry_exact(&real)
                    .map_err(fail)?
                    .is_some_and(|e| e.file_type == FileType::Directory) =>
            {
                self.children(&real).map(Some).map_err(fail)
            }
            _ => Ok(None),
        }
    }
}

impl ImageFile {
    /// The names in a real directory (no links on the way), sorted.
    fn children(&self, dir: &str) -> Result<Vec<String>, String> {
        match &self.tree {
            Tree::Layered { nodes, .. } => {
                let prefix = if dir == "/" {
                    "/".to_string()
                } else {
                    format!("{dir}/")
                };
                Ok(nodes
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                    .filter_map(|(k, _)| {
                        let rest = &k[prefix.len()..];
                        (!rest.is_empty() && !rest.contains('/')).then(|| rest.to_string())
                    })
                    .collect())
            }
            Tree::Dir(root) => nofollow::children(root, dir),
        }
    }

    /// The image's config, when it has one (a root filesystem has none).
    pub fn config(&self) -> Option<&ImageMeta> {
        self.config.as_ref()
    }

    /// The names the image file knows itself by.
    pub fn names(&self) -> &[String] {
        &self.names
    }
}

pub use crate::model::target::NOTHING_RUNS;

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar layer from (path, kind, content/link).
    fn layer(entries: &[(&str, char, &str)]) -> Slice {
        let mut b = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_mtime(1);
            match kind {
                'd' => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    b.append_data(&mut h, path, &[][..]).unwrap();
                }
                'l' => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, path, data).unwrap();
                }
                'h' => {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, path, data).unwrap();
                }
                _ => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, path, data.as_bytes()).unwrap();
                }
            }
        }
        let bytes = b.into_inner().unwrap();
        let mut f = tempfile::tempfile().unwrap();
        std::io::Write::write_all(&mut f, &bytes).unwrap();
        Slice::whole(f).unwrap()
    }

    fn image(layers: Vec<Slice>) -> ImageFile {
        ImageFile {
            shown: "test".into(),
            format: Format::OciDir,
            tree: layered(
                layers
                    .into_iter()
                    .map(|slice| Layer {
                        slice,
                        digest: None,
                        diff_id: None,
                    })
                    .collect(),
            )
            .unwrap(),
            config: None,
            names: vec![],
            arch: None,
        }
    }

    fn content(img: &ImageFile, path: &str) -> Option<String> {
        img.read_path(path)
            .unwrap()
            .map(|e| String::from_utf8(e.content).unwrap())
    }

    #[test]
    fn whiteouts_and_opaque_directories_hide_lower_layers() {
        let img = image(vec![
            layer(&[
                ("etc/", 'd', ""),
                ("etc/a", 'f', "a1"),
                ("etc/b", 'f', "b1"),
                ("var/", 'd', ""),
                ("var/x/", 'd', ""),
                ("var/x/old", 'f', "old"),
            ]),
            layer(&[
                ("etc/a", 'f', "a2"),
                ("etc/.wh.b", 'f', ""),
                ("var/x/.wh..wh..opq", 'f', ""),
                ("var/x/new", 'f', "new"),
            ]),
        ]);
        assert_eq!(content(&img, "/etc/a").as_deref(), Some("a2"));
        assert_eq!(content(&img, "/etc/b"), None);
        assert_eq!(content(&img, "/var/x/old"), None);
        assert_eq!(content(&img, "/var/x/new").as_deref(), Some("new"));
        assert_eq!(
            img.list_path("/var/x").unwrap(),
            Some(vec!["new".to_string()])
        );
        assert_eq!(img.list_path("/etc").unwrap(), Some(vec!["a".to_string()]));
    }

    #[test]
    fn links_resolve_inside_the_image_and_hard_links_share_content() {
        let img = image(vec![layer(&[
            ("usr/", 'd', ""),
            ("usr/bin/", 'd', ""),
            ("usr/bin/tool", 'f', "#!tool"),
            ("bin", 'l', "usr/bin"),
            ("etc/", 'd', ""),
            // Absolute: the image's root, not this machine's.
            ("etc/alt", 'l', "/usr/bin"),
            ("usr/bin/again", 'h', "usr/bin/tool"),
        ])]);
        assert_eq!(content(&img, "/bin/tool").as_deref(), Some("#!tool"));
        assert_eq!(content(&img, "/etc/alt/tool").as_deref(), Some("#!tool"));
        assert_eq!(content(&img, "/usr/bin/again").as_deref(), Some("#!tool"));
        // `..` after a link is the link target's parent, as the kernel has it.
        assert_eq!(content(&img, "/bin/../etc/alt/tool"), None);
        assert_eq!(
            content(&img, "/etc/alt/../bin/tool").as_deref(),
            Some("#!tool")
        );
        let bin = img.read_path("/bin").unwrap().unwrap();
        assert_eq!(
            (bin.file_type, bin.link_target.as_deref()),
            (FileType::Symlink, Some("usr/bin"))
        );
        assert_eq!(img.read_path("/usr/bin/tool/x").unwrap(), None);
        assert_eq!(
            img.list_path("/bin").unwrap(),
            Some(vec!["again".to_string(), "tool".to_string()])
        );
    }

    #[test]
    fn a_file_replaced_by_a_directory_and_back() {
        let img = image(vec![
            layer(&[
                ("opt/", 'd', ""),
                ("opt/x/", 'd', ""),
                ("opt/x/y", 'f', "y"),
            ]),
            layer(&[("opt/x", 'f', "now a file")]),
        ]);
        assert_eq!(content(&img, "/opt/x").as_deref(), Some("now a file"));
        assert_eq!(img.read_path("/opt/x/y").unwrap(), None);
    }

    #[test]
    fn a_root_filesystem_never_follows_links_out_of_it() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/hostname"), "inside\n").unwrap();
        // Absolute links point into the root filesystem, not at this machine.
        std::os::unix::fs::symlink("/etc", r.join("conf")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", r.join("up")).unwrap();
        let img = ImageFile::open("rootfs:t", Format::Rootfs, r.to_str().unwrap(), None).unwrap();
        assert_eq!(content(&img, "/conf/hostname").as_deref(), Some("inside\n"));
        assert_eq!(content(&img, "/up/hostname").as_deref(), Some("inside\n"));
        assert_eq!(img.read_path("/conf/passwd").unwrap(), None);
    }

    /// Issue 26, case 16: a writer on this machine swaps a file of the root
    /// filesystem for a link to a secret outside it, and a directory for a
    /// link to the secret's directory, while the file is read: no read ever
    /// returns the secret.
    #[test]
    fn a_root_filesystem_swapped_while_read_never_leads_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("shadow"), "RUNNER-SECRET\n").unwrap();
        std::fs::write(outside.path().join("runner-only"), "").unwrap();
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_path_buf();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(r.join("etc/shadow"), "inside\n").unwrap();
        let img = ImageFile::open("rootfs:t", Format::Rootfs, r.to_str().unwrap(), None).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (r, stop, secret_dir) = (r.clone(), stop.clone(), outside.path().to_path_buf());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    // Atomic replacements: a link, then the real file again;
                    // the directory, then a link to the secret's directory.
                    let tmp = r.join(format!(".swap{n}"));
                    let _ = std::os::unix::fs::symlink(secret_dir.join("shadow"), &tmp);
                    let _ = std::fs::rename(&tmp, r.join("etc/shadow"));
                    let _ = std::fs::write(&tmp, "inside\n");
                    let _ = std::fs::rename(&tmp, r.join("etc/shadow"));
                    let _ = std::fs::rename(r.join("etc"), r.join("etc.real"));
                    let _ = std::os::unix::fs::symlink(&secret_dir, r.join("etc"));
                    let _ = std::fs::remove_file(r.join("etc"));
                    let _ = std::fs::rename(r.join("etc.real"), r.join("etc"));
                }
            })
        };
        let started = std::time::Instant::now();
        let mut reads = 0;
        while started.elapsed() < Duration::from_secs(2) {
            // Errors and absence are allowed (the file is being swapped);
            // the secret is not.
            if let Ok(Some((_, e))) = img.lookup("/etc/shadow") {
                assert!(
                    !String::from_utf8_lossy(&e.content).contains("RUNNER-SECRET"),
                    "read the runner's file through /etc/shadow"
                );
                reads += 1;
            }
            if let Ok(Some(names)) = img.list_path("/etc") {
                assert!(
                    !names.iter().any(|n| n == "runner-only"),
                    "listed the runner's directory"
                );
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().unwrap();
        assert!(reads > 100, "only {reads} reads completed");
    }
}
