//! The file system behind `powercut-fs`, without FUSE: a disk (a folder)
//! and a page cache (memory), with POSIX's durability rules taken
//! literally.
//!
//! - The **disk** is the backing folder. It holds one object per inode
//!   under `objects/`: `f<ino>` is a file's bytes, `d<ino>` a directory's
//!   entries (name, inode, kind, mode, owner). Directory 1 is the root.
//!   Nothing else is durable.
//! - The **page cache** is every change since: the bytes written to each
//!   file (extents over the disk's bytes, and a size), and each directory's
//!   entries as they are now.
//! - `fsync` (or `fdatasync`) of a file writes its bytes and size to the
//!   disk; `fsync` of a directory writes its entries to the disk. Nothing
//!   else reaches the disk: not `close`, not `sync_file_range`, not time
//!   passing. A new, renamed or removed name is durable only once its
//!   directory is synced; a new file's bytes only once the file is.
//! - [`Model::load`] starts from the disk alone: a power cut, or any
//!   unmount (the page cache is lost with the process). Objects no durable
//!   directory reaches are deleted then (a file synced but never named).
//! - [`Model::cut`] drops the page cache at once and fails every later
//!   operation with `EIO`: what a program sees of a disk that lost power
//!   under it.
//!
//! The disk's own writes are not synced on the host: the disk is the
//! backing folder as other processes see it, and only this process
//! "loses power".
//!
//! Simplifications: a rename across two directories is two independent
//! changes (each durable with its own directory's sync, so a cut between
//! the two syncs can leave a file under both names; a directory reachable
//! twice keeps its first name); timestamps are not kept on the disk;
//! no symlinks, devices, xattrs or locks (the kernel keeps locks locally).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The root directory's inode.
pub const ROOT: u64 = 1;

/// An operation's failure: an `errno` value.
pub type Errno = i32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

/// What `stat` shows of an inode.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub ino: u64,
    pub kind: Kind,
    pub size: u64,
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: SystemTime,
    pub ctime: SystemTime,
}

/// What a power cut dropped (or would drop now).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unsynced {
    /// Files with bytes or a size not on the disk.
    pub files: u64,
    /// Bytes written and not synced (extents; a truncation counts 0).
    pub bytes: u64,
    /// Directories whose entries differ from the disk's.
    pub dirs: u64,
}

impl fmt::Display for Unsynced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "files={} bytes={} dirs={}", self.files, self.bytes, self.dirs)
    }
}

/// A file's bytes: the disk's, under the extents written since the last
/// sync.
#[derive(Debug, Default)]
struct FileData {
    /// The size the file has now.
    size: u64,
    /// The size of its object on the disk.
    disk_len: u64,
    /// The disk's bytes from here on are gone (a truncation not yet
    /// synced): they read as zeros. Invariant: `min(disk_len, zero_from)
    /// <= size`.
    zero_from: u64,
    /// Bytes written since the last sync: offset -> bytes, never
    /// overlapping, never past `size`.
    extents: BTreeMap<u64, Vec<u8>>,
}

impl FileData {
    fn on_disk(len: u64) -> FileData {
        FileData {
            size: len,
            disk_len: len,
            zero_from: u64::MAX,
            extents: BTreeMap::new(),
        }
    }

    fn is_dirty(&self) -> bool {
        !self.extents.is_empty() || self.size != self.disk_len || self.zero_from < self.disk_len
    }

    fn dirty_bytes(&self) -> u64 {
        self.extents.values().map(|e| e.len() as u64).sum()
    }

    /// The bytes of the disk that still show through (`0..visible`).
    fn visible_disk(&self) -> u64 {
        self.disk_len.min(self.zero_from)
    }

    fn write(&mut self, off: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let end = off + data.len() as u64;
        // Extents that start inside the write: it covers them, except
        // what the last one holds past its end.
        let mut tail = Vec::new();
        let inside: Vec<u64> = self.extents.range(off..=end).map(|(k, _)| *k).collect();
        for k in inside {
            let e = self.extents.remove(&k).expect("listed");
            let e_end = k + e.len() as u64;
            if e_end > end {
                tail = e[(end - k) as usize..].to_vec();
            }
        }
        // An extent that starts before it and reaches it grows in place
        // (appends stay one extent, without copying).
        if let Some((&s, e)) = self.extents.range_mut(..off).next_back() {
            let e_end = s + e.len() as u64;
            if e_end >= off {
                if e_end > end {
                    // It covers the whole write (and nothing started inside).
                    e[(off - s) as usize..(end - s) as usize].copy_from_slice(data);
                } else {
                    e.truncate((off - s) as usize);
                    e.extend_from_slice(data);
                    e.extend_from_slice(&tail);
                }
                self.size = self.size.max(end);
                return;
            }
        }
        let mut e = data.to_vec();
        e.extend_from_slice(&tail);
        self.extents.insert(off, e);
        self.size = self.size.max(end);
    }

    fn truncate(&mut self, size: u64) {
        if size < self.size {
            let past: Vec<u64> = self.extents.range(size..).map(|(k, _)| *k).collect();
            for k in past {
                self.extents.remove(&k);
            }
            if let Some((&s, e)) = self.extents.range_mut(..size).next_back() {
                if s + e.len() as u64 > size {
                    e.truncate((size - s) as usize);
                }
            }
            self.zero_from = self.zero_from.min(size);
        }
        self.size = size;
    }
}

#[derive(Debug)]
enum Body {
    File(FileData),
    Dir {
        entries: BTreeMap<OsString, u64>,
        parent: u64,
        /// Entries changed since the directory was last synced.
        dirty: bool,
    },
}

#[derive(Debug)]
struct Node {
    body: Body,
    perm: u16,
    uid: u32,
    gid: u32,
    /// Names in the page cache's directories (files); 2 for directories.
    nlink: u32,
    /// Open handles (a file unlinked while open lives until released).
    open: u32,
    mtime: SystemTime,
    ctime: SystemTime,
}

impl Node {
    fn kind(&self) -> Kind {
        match self.body {
            Body::File(_) => Kind::File,
            Body::Dir { .. } => Kind::Dir,
        }
    }
}

/// One entry of a directory object on the disk.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DiskEntry {
    name: OsString,
    ino: u64,
    kind: Kind,
    perm: u16,
    uid: u32,
    gid: u32,
}

const MANIFEST_MAGIC: &[u8] = b"powercut-fs dir v1\n";

/// The disk: objects in the backing folder.
struct Disk {
    objects: PathBuf,
    /// Open file objects (created on first write).
    files: HashMap<u64, File>,
}

impl Disk {
    fn open(backing: &Path) -> io::Result<Disk> {
        let objects = backing.join("objects");
        fs::create_dir_all(&objects)?;
        Ok(Disk {
            objects,
            files: HashMap::new(),
        })
    }

    fn file_path(&self, ino: u64) -> PathBuf {
        self.objects.join(format!("f{ino}"))
    }

    fn dir_path(&self, ino: u64) -> PathBuf {
        self.objects.join(format!("d{ino}"))
    }

    fn file(&mut self, ino: u64) -> io::Result<&File> {
        if !self.files.contains_key(&ino) {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(self.file_path(ino))?;
            self.files.insert(ino, f);
        }
        Ok(&self.files[&ino])
    }

    fn file_len(&self, ino: u64) -> io::Result<u64> {
        match fs::metadata(self.file_path(ino)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Reads `buf.len()` bytes at `off`; what the object lacks reads as zeros.
    fn read_at(&mut self, ino: u64, off: u64, buf: &mut [u8]) -> io::Result<()> {
        let f = self.file(ino)?;
        let mut done = 0;
        while done < buf.len() {
            match f.read_at(&mut buf[done..], off + done as u64)? {
                0 => break,
                n => done += n,
            }
        }
        buf[done..].fill(0);
        Ok(())
    }

    fn write_manifest(&self, ino: u64, entries: &[DiskEntry]) -> io::Result<()> {
        let mut out = MANIFEST_MAGIC.to_vec();
        for e in entries {
            out.push(match e.kind {
                Kind::File => b'f',
                Kind::Dir => b'd',
            });
            out.extend_from_slice(&e.ino.to_le_bytes());
            out.extend_from_slice(&e.perm.to_le_bytes());
            out.extend_from_slice(&e.uid.to_le_bytes());
            out.extend_from_slice(&e.gid.to_le_bytes());
            let name = e.name.as_bytes();
            out.extend_from_slice(&(name.len() as u32).to_le_bytes());
            out.extend_from_slice(name);
        }
        // Whole or not at all, even if this process dies while writing.
        let tmp = self.objects.join(format!("d{ino}.tmp"));
        fs::write(&tmp, &out)?;
        fs::rename(&tmp, self.dir_path(ino))
    }

    fn read_manifest(&self, ino: u64) -> io::Result<Vec<DiskEntry>> {
        let bytes = match fs::read(self.dir_path(ino)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("directory object d{ino} is damaged"),
            )
        };
        let mut r = bytes.strip_prefix(MANIFEST_MAGIC).ok_or_else(bad)?;
        let mut out = Vec::new();
        while !r.is_empty() {
            let mut head = [0u8; 1 + 8 + 2 + 4 + 4 + 4];
            r.read_exact(&mut head).map_err(|_| bad())?;
            let kind = match head[0] {
                b'f' => Kind::File,
                b'd' => Kind::Dir,
                _ => return Err(bad()),
            };
            let ino = u64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
            let perm = u16::from_le_bytes(head[9..11].try_into().expect("2 bytes"));
            let uid = u32::from_le_bytes(head[11..15].try_into().expect("4 bytes"));
            let gid = u32::from_le_bytes(head[15..19].try_into().expect("4 bytes"));
            let len = u32::from_le_bytes(head[19..23].try_into().expect("4 bytes")) as usize;
            if r.len() < len {
                return Err(bad());
            }
            let (name, rest) = r.split_at(len);
            r = rest;
            out.push(DiskEntry {
                name: OsString::from_vec(name.to_vec()),
                ino,
                kind,
                perm,
                uid,
                gid,
            });
        }
        Ok(out)
    }
}

/// The file system: the disk and the page cache over it.
pub struct Model {
    disk: Disk,
    nodes: HashMap<u64, Node>,
    next_ino: u64,
    /// The power was cut: every operation fails.
    dead: bool,
    /// How many file and directory syncs reached the disk.
    pub file_syncs: u64,
    pub dir_syncs: u64,
}

fn io_errno(e: io::Error) -> Errno {
    e.raw_os_error().unwrap_or(libc::EIO)
}

impl Model {
    /// The file system as the disk in `backing` holds it (a new, empty one
    /// if the folder is empty); deletes the objects no directory reaches.
    pub fn load(backing: &Path) -> io::Result<Model> {
        use std::os::unix::fs::MetadataExt;
        let disk = Disk::open(backing)?;
        let owner = fs::metadata(backing)?;
        let now = SystemTime::now();
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node {
                body: Body::Dir {
                    entries: BTreeMap::new(),
                    parent: ROOT,
                    dirty: false,
                },
                perm: 0o755,
                uid: owner.uid(),
                gid: owner.gid(),
                nlink: 2,
                open: 0,
                mtime: now,
                ctime: now,
            },
        );
        let mut todo = vec![ROOT];
        while let Some(dir) = todo.pop() {
            let mut kept = BTreeMap::new();
            for e in disk.read_manifest(dir)? {
                match (e.kind, nodes.get_mut(&e.ino)) {
                    (Kind::File, Some(n)) if n.kind() == Kind::File => n.nlink += 1, // a hard link
                    (_, Some(_)) => continue, // a directory reached twice, or a kind mismatch
                    (kind, None) => {
                        let body = match kind {
                            Kind::File => Body::File(FileData::on_disk(disk.file_len(e.ino)?)),
                            Kind::Dir => {
                                todo.push(e.ino);
                                Body::Dir {
                                    entries: BTreeMap::new(),
                                    parent: dir,
                                    dirty: false,
                                }
                            }
                        };
                        nodes.insert(
                            e.ino,
                            Node {
                                body,
                                perm: e.perm,
                                uid: e.uid,
                                gid: e.gid,
                                nlink: if kind == Kind::Dir { 2 } else { 1 },
                                open: 0,
                                mtime: now,
                                ctime: now,
                            },
                        );
                    }
                }
                kept.insert(e.name, e.ino);
            }
            if let Some(Node {
                body: Body::Dir { entries, .. },
                ..
            }) = nodes.get_mut(&dir)
            {
                *entries = kept;
            }
        }
        // What no directory reaches is gone; inode numbers are never reused.
        let mut max_ino = ROOT;
        for item in fs::read_dir(&disk.objects)? {
            let item = item?;
            let name = item.file_name();
            let name = name.to_string_lossy();
            let parsed = name
                .strip_prefix('f')
                .map(|n| (Kind::File, n))
                .or_else(|| name.strip_prefix('d').map(|n| (Kind::Dir, n)))
                .and_then(|(k, n)| n.parse::<u64>().ok().map(|ino| (k, ino)));
            let reachable = match parsed {
                Some((kind, ino)) => {
                    max_ino = max_ino.max(ino);
                    nodes.get(&ino).is_some_and(|n| n.kind() == kind)
                }
                None => false, // an interrupted manifest write
            };
            if !reachable {
                fs::remove_file(item.path())?;
            }
        }
        max_ino = nodes.keys().copied().fold(max_ino, u64::max);
        Ok(Model {
            disk,
            nodes,
            next_ino: max_ino + 1,
            dead: false,
            file_syncs: 0,
            dir_syncs: 0,
        })
    }

    fn alive(&self) -> Result<(), Errno> {
        if self.dead {
            Err(libc::EIO)
        } else {
            Ok(())
        }
    }

    fn node(&self, ino: u64) -> Result<&Node, Errno> {
        self.alive()?;
        self.nodes.get(&ino).ok_or(libc::ENOENT)
    }

    fn node_mut(&mut self, ino: u64) -> Result<&mut Node, Errno> {
        self.alive()?;
        self.nodes.get_mut(&ino).ok_or(libc::ENOENT)
    }

    fn entries(&self, dir: u64) -> Result<&BTreeMap<OsString, u64>, Errno> {
        match &self.node(dir)?.body {
            Body::Dir { entries, .. } => Ok(entries),
            Body::File(_) => Err(libc::ENOTDIR),
        }
    }

    /// Changes `dir`'s entries (and marks them unsynced).
    fn edit_dir<T>(&mut self, dir: u64, f: impl FnOnce(&mut BTreeMap<OsString, u64>) -> T) -> Result<T, Errno> {
        let node = self.node_mut(dir)?;
        let now = SystemTime::now();
        node.mtime = now;
        node.ctime = now;
        match &mut node.body {
            Body::Dir { entries, dirty, .. } => {
                *dirty = true;
                Ok(f(entries))
            }
            Body::File(_) => Err(libc::ENOTDIR),
        }
    }

    fn file_mut(&mut self, ino: u64) -> Result<&mut FileData, Errno> {
        match &mut self.node_mut(ino)?.body {
            Body::File(d) => Ok(d),
            Body::Dir { .. } => Err(libc::EISDIR),
        }
    }

    pub fn attr(&self, ino: u64) -> Result<Attr, Errno> {
        let n = self.node(ino)?;
        Ok(Attr {
            ino,
            kind: n.kind(),
            size: match &n.body {
                Body::File(d) => d.size,
                Body::Dir { .. } => 4096,
            },
            perm: n.perm,
            nlink: n.nlink,
            uid: n.uid,
            gid: n.gid,
            mtime: n.mtime,
            ctime: n.ctime,
        })
    }

    pub fn lookup(&self, parent: u64, name: &OsStr) -> Result<Attr, Errno> {
        let ino = *self.entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        self.attr(ino)
    }

    pub fn setattr(
        &mut self,
        ino: u64,
        perm: Option<u16>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        mtime: Option<SystemTime>,
    ) -> Result<Attr, Errno> {
        if let Some(size) = size {
            self.file_mut(ino)?.truncate(size);
        }
        let n = self.node_mut(ino)?;
        let now = SystemTime::now();
        if let Some(p) = perm {
            n.perm = p & 0o7777;
        }
        if let Some(u) = uid {
            n.uid = u;
        }
        if let Some(g) = gid {
            n.gid = g;
        }
        if size.is_some() {
            n.mtime = now;
        }
        if let Some(t) = mtime {
            n.mtime = t;
        }
        n.ctime = now;
        self.attr(ino)
    }

    fn new_node(
        &mut self,
        parent: u64,
        name: &OsStr,
        body: Body,
        perm: u16,
        uid: u32,
        gid: u32,
    ) -> Result<Attr, Errno> {
        if self.entries(parent)?.contains_key(name) {
            return Err(libc::EEXIST);
        }
        if name.len() > 255 {
            return Err(libc::ENAMETOOLONG);
        }
        let ino = self.next_ino;
        self.next_ino += 1;
        let now = SystemTime::now();
        let nlink = if matches!(body, Body::Dir { .. }) { 2 } else { 1 };
        self.nodes.insert(
            ino,
            Node {
                body,
                perm: perm & 0o7777,
                uid,
                gid,
                nlink,
                open: 0,
                mtime: now,
                ctime: now,
            },
        );
        self.edit_dir(parent, |e| e.insert(name.to_os_string(), ino))?;
        self.attr(ino)
    }

    /// A new empty file (`create` also opens it: [`Model::open`]).
    pub fn mknod(&mut self, parent: u64, name: &OsStr, perm: u16, uid: u32, gid: u32) -> Result<Attr, Errno> {
        self.new_node(parent, name, Body::File(FileData::on_disk(0)), perm, uid, gid)
    }

    pub fn mkdir(&mut self, parent: u64, name: &OsStr, perm: u16, uid: u32, gid: u32) -> Result<Attr, Errno> {
        let body = Body::Dir {
            entries: BTreeMap::new(),
            parent,
            dirty: false, // no entries: the disk's (none) are its own
        };
        self.new_node(parent, name, body, perm, uid, gid)
    }

    /// One name less for a file; it goes when it has none and is not open.
    fn unlinked(&mut self, ino: u64) {
        let Some(n) = self.nodes.get_mut(&ino) else { return };
        n.nlink = n.nlink.saturating_sub(1);
        n.ctime = SystemTime::now();
        self.forget_if_gone(ino);
    }

    fn forget_if_gone(&mut self, ino: u64) {
        if self
            .nodes
            .get(&ino)
            .is_some_and(|n| n.kind() == Kind::File && n.nlink == 0 && n.open == 0)
        {
            self.nodes.remove(&ino);
            self.disk.files.remove(&ino);
        }
    }

    pub fn unlink(&mut self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        if self.node(ino)?.kind() == Kind::Dir {
            return Err(libc::EISDIR);
        }
        self.edit_dir(parent, |e| e.remove(name))?;
        self.unlinked(ino);
        Ok(())
    }

    pub fn rmdir(&mut self, parent: u64, name: &OsStr) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        if !self.entries(ino)?.is_empty() {
            return Err(libc::ENOTEMPTY);
        }
        self.edit_dir(parent, |e| e.remove(name))?;
        self.nodes.remove(&ino);
        Ok(())
    }

    pub fn rename(
        &mut self,
        parent: u64,
        name: &OsStr,
        new_parent: u64,
        new_name: &OsStr,
        no_replace: bool,
    ) -> Result<(), Errno> {
        let ino = *self.entries(parent)?.get(name).ok_or(libc::ENOENT)?;
        let moving_dir = self.node(ino)?.kind() == Kind::Dir;
        let target = self.entries(new_parent)?.get(new_name).copied();
        if target.is_some() && no_replace {
            return Err(libc::EEXIST);
        }
        if target == Some(ino) {
            return Ok(()); // the same inode under both names: nothing to do
        }
        if moving_dir {
            // Not into itself or below it.
            let mut at = new_parent;
            loop {
                if at == ino {
                    return Err(libc::EINVAL);
                }
                match &self.node(at)?.body {
                    Body::Dir { parent, .. } if *parent != at => at = *parent,
                    _ => break,
                }
            }
        }
        if let Some(t) = target {
            match (moving_dir, self.node(t)?.kind()) {
                (false, Kind::Dir) => return Err(libc::EISDIR),
                (true, Kind::File) => return Err(libc::ENOTDIR),
                (true, Kind::Dir) if !self.entries(t)?.is_empty() => return Err(libc::ENOTEMPTY),
                _ => {}
            }
        }
        self.edit_dir(parent, |e| e.remove(name))?;
        self.edit_dir(new_parent, |e| e.insert(new_name.to_os_string(), ino))?;
        if let Some(t) = target {
            if moving_dir {
                self.nodes.remove(&t);
            } else {
                self.unlinked(t);
            }
        }
        if let Some(Node {
            body: Body::Dir { parent, .. },
            ..
        }) = self.nodes.get_mut(&ino)
        {
            *parent = new_parent;
        }
        Ok(())
    }

    pub fn link(&mut self, ino: u64, new_parent: u64, new_name: &OsStr) -> Result<Attr, Errno> {
        if self.node(ino)?.kind() == Kind::Dir {
            return Err(libc::EPERM);
        }
        if self.entries(new_parent)?.contains_key(new_name) {
            return Err(libc::EEXIST);
        }
        self.edit_dir(new_parent, |e| e.insert(new_name.to_os_string(), ino))?;
        let n = self.node_mut(ino)?;
        n.nlink += 1;
        n.ctime = SystemTime::now();
        self.attr(ino)
    }

    pub fn open(&mut self, ino: u64) -> Result<(), Errno> {
        self.node_mut(ino)?.open += 1;
        Ok(())
    }

    pub fn release(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.open = n.open.saturating_sub(1);
        }
        self.forget_if_gone(ino);
    }

    pub fn read(&mut self, ino: u64, off: u64, len: u32) -> Result<Vec<u8>, Errno> {
        self.alive()?;
        let Model { disk, nodes, .. } = self;
        let d = match nodes.get(&ino).map(|n| &n.body) {
            Some(Body::File(d)) => d,
            Some(Body::Dir { .. }) => return Err(libc::EISDIR),
            None => return Err(libc::ENOENT),
        };
        let end = d.size.min(off.saturating_add(len as u64));
        if off >= end {
            return Ok(Vec::new());
        }
        let mut buf = vec![0u8; (end - off) as usize];
        let disk_end = end.min(d.visible_disk());
        if off < disk_end {
            disk.read_at(ino, off, &mut buf[..(disk_end - off) as usize])
                .map_err(io_errno)?;
        }
        let overlapping = d
            .extents
            .range(..end)
            .rev()
            .take_while(|(s, e)| **s + e.len() as u64 > off);
        for (&s, e) in overlapping {
            let from = s.max(off);
            let to = (s + e.len() as u64).min(end);
            buf[(from - off) as usize..(to - off) as usize].copy_from_slice(&e[(from - s) as usize..(to - s) as usize]);
        }
        Ok(buf)
    }

    pub fn write(&mut self, ino: u64, off: u64, data: &[u8]) -> Result<u32, Errno> {
        off.checked_add(data.len() as u64).ok_or(libc::EFBIG)?;
        self.file_mut(ino)?.write(off, data);
        let n = self.node_mut(ino)?;
        n.mtime = SystemTime::now();
        n.ctime = n.mtime;
        Ok(data.len() as u32)
    }

    /// `fsync`/`fdatasync` of a file: its bytes and size reach the disk.
    pub fn fsync(&mut self, ino: u64) -> Result<(), Errno> {
        self.alive()?;
        let Model { disk, nodes, .. } = self;
        let d = match nodes.get_mut(&ino).map(|n| &mut n.body) {
            Some(Body::File(d)) => d,
            Some(Body::Dir { .. }) => return self.fsyncdir(ino),
            None => return Err(libc::ENOENT),
        };
        if !d.is_dirty() {
            return Ok(());
        }
        let written: io::Result<()> = (|| {
            let f = disk.file(ino)?;
            if d.zero_from < d.disk_len {
                f.set_len(d.zero_from)?;
            }
            f.set_len(d.size)?;
            for (off, bytes) in &d.extents {
                f.write_all_at(bytes, *off)?;
            }
            Ok(())
        })();
        written.map_err(io_errno)?;
        d.extents.clear();
        d.disk_len = d.size;
        d.zero_from = u64::MAX;
        self.file_syncs += 1;
        Ok(())
    }

    /// `fsync` of a directory: its entries reach the disk.
    pub fn fsyncdir(&mut self, ino: u64) -> Result<(), Errno> {
        let entries = self.entries(ino)?.clone();
        let mut disk_entries = Vec::with_capacity(entries.len());
        for (name, child) in entries {
            let n = self.node(child)?;
            disk_entries.push(DiskEntry {
                name,
                ino: child,
                kind: n.kind(),
                perm: n.perm,
                uid: n.uid,
                gid: n.gid,
            });
        }
        self.disk.write_manifest(ino, &disk_entries).map_err(io_errno)?;
        if let Body::Dir { dirty, .. } = &mut self.node_mut(ino)?.body {
            *dirty = false;
        }
        self.dir_syncs += 1;
        Ok(())
    }

    /// `.`, `..` and the entries, in a stable order.
    pub fn readdir(&self, ino: u64) -> Result<Vec<(u64, Kind, OsString)>, Errno> {
        let Body::Dir { entries, parent, .. } = &self.node(ino)?.body else {
            return Err(libc::ENOTDIR);
        };
        let mut out = vec![
            (ino, Kind::Dir, OsString::from(".")),
            (*parent, Kind::Dir, OsString::from("..")),
        ];
        for (name, child) in entries {
            let kind = self.nodes.get(child).map_or(Kind::File, Node::kind);
            out.push((*child, kind, name.clone()));
        }
        Ok(out)
    }

    /// What a power cut would drop now.
    pub fn unsynced(&self) -> Unsynced {
        let mut u = Unsynced::default();
        if self.dead {
            return u;
        }
        let names: HashSet<u64> = self
            .nodes
            .values()
            .filter_map(|n| match &n.body {
                Body::Dir { entries, .. } => Some(entries.values().copied()),
                Body::File(_) => None,
            })
            .flatten()
            .collect();
        for (ino, n) in &self.nodes {
            match &n.body {
                Body::File(d) if d.is_dirty() && (names.contains(ino) || n.open > 0) => {
                    u.files += 1;
                    u.bytes += d.dirty_bytes();
                }
                Body::Dir { dirty: true, .. } => u.dirs += 1,
                _ => {}
            }
        }
        u
    }

    /// Cuts the power: the page cache is gone and every operation from now
    /// on fails with `EIO`. Returns what was dropped.
    pub fn cut(&mut self) -> Unsynced {
        let dropped = self.unsynced();
        self.dead = true;
        self.nodes.clear();
        self.disk.files.clear();
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: u32 = 0;

    fn name(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    fn create(m: &mut Model, dir: u64, n: &str) -> u64 {
        m.mknod(dir, name(n), 0o644, UID, UID).unwrap().ino
    }

    fn read_all(m: &mut Model, ino: u64) -> Vec<u8> {
        let size = m.attr(ino).unwrap().size;
        m.read(ino, 0, size as u32).unwrap()
    }

    fn contents(m: &mut Model, dir: u64, n: &str) -> Option<Vec<u8>> {
        let ino = m.lookup(dir, name(n)).ok()?.ino;
        Some(read_all(m, ino))
    }

    #[test]
    fn writes_read_back_over_the_disk() {
        let disk = tempfile::tempdir().unwrap();
        let mut m = Model::load(disk.path()).unwrap();
        let f = create(&mut m, ROOT, "f");
        m.write(f, 0, b"hello world").unwrap();
        m.fsync(f).unwrap();
        // Overlapping, adjacent and sparse writes over synced bytes.
        m.write(f, 6, b"WORLD").unwrap();
        m.write(f, 2, b"LL").unwrap();
        m.write(f, 4, b"O").unwrap();
        m.write(f, 20, b"!").unwrap();
        let mut want = b"heLLO WORLD".to_vec();
        want.resize(20, 0);
        want.push(b'!');
        assert_eq!(read_all(&mut m, f), want);
        assert_eq!(m.read(f, 3, 4).unwrap(), b"LO W");
        // A truncation hides the disk's bytes past it, even when regrown.
        m.setattr(f, None, None, None, Some(3), None).unwrap();
        m.setattr(f, None, None, None, Some(8), None).unwrap();
        assert_eq!(read_all(&mut m, f), b"heL\0\0\0\0\0");
        m.write(f, 5, b"xy").unwrap();
        assert_eq!(read_all(&mut m, f), b"heL\0\0xy\0");
        m.fsync(f).unwrap();
        assert_eq!(read_all(&mut m, f), b"heL\0\0xy\0");
        m.fsyncdir(ROOT).unwrap();
        drop(m);
        let mut m = Model::load(disk.path()).unwrap();
        assert_eq!(contents(&mut m, ROOT, "f").unwrap(), b"heL\0\0xy\0");
    }

    #[test]
    fn appends_stay_one_extent() {
        let mut d = FileData::on_disk(0);
        for i in 0..1000u64 {
            d.write(i * 10, &[i as u8; 10]);
        }
        assert_eq!(d.extents.len(), 1);
        assert_eq!(d.size, 10_000);
        d.write(5, &[0xff; 20]);
        assert_eq!(d.extents.len(), 1);
        d.write(20_000, b"x");
        d.write(10_000, &[1; 10_001]); // joins both
        assert_eq!(d.extents.len(), 1, "{:?}", d.extents.keys().collect::<Vec<_>>());
        assert_eq!(d.size, 20_001);
    }

    /// The rules the module's doc states, one by one, across a "power cut"
    /// (dropping the model and loading the disk again).
    #[test]
    fn only_what_was_synced_survives() {
        let disk = tempfile::tempdir().unwrap();
        let mut m = Model::load(disk.path()).unwrap();
        // Before the directory sync: b synced, d empty, e synced, h, and a
        // new directory with everything synced.
        let b = create(&mut m, ROOT, "b");
        m.write(b, 0, b"B1").unwrap();
        m.fsync(b).unwrap();
        let d = create(&mut m, ROOT, "d");
        let e = create(&mut m, ROOT, "e");
        m.write(e, 0, b"E").unwrap();
        m.fsync(e).unwrap();
        create(&mut m, ROOT, "h");
        let sub = m.mkdir(ROOT, name("sub"), 0o755, UID, UID).unwrap().ino;
        let x = create(&mut m, sub, "x");
        m.write(x, 0, b"X").unwrap();
        m.fsync(x).unwrap();
        m.fsyncdir(sub).unwrap();
        m.fsyncdir(ROOT).unwrap();

        // After it: a never synced, c synced but never named, more bytes in
        // b and d, a rename, a removal and a truncation, none synced.
        let a = create(&mut m, ROOT, "a");
        m.write(a, 0, b"A").unwrap();
        let c = create(&mut m, ROOT, "c");
        m.write(c, 0, b"C").unwrap();
        m.fsync(c).unwrap();
        m.write(b, 2, b"B2").unwrap();
        m.write(d, 0, b"D").unwrap();
        m.rename(ROOT, name("e"), ROOT, name("e2"), false).unwrap();
        m.unlink(ROOT, name("h")).unwrap();
        m.setattr(x, None, None, None, Some(0), None).unwrap();
        assert_eq!(contents(&mut m, ROOT, "b").unwrap(), b"B1B2");
        assert_eq!(contents(&mut m, sub, "x").unwrap(), b"");
        let dropped = m.cut();
        assert_eq!(
            dropped,
            Unsynced {
                files: 4, // a, b, d, x
                bytes: 4, // "A", "B2", "D"
                dirs: 1,  // the root
            }
        );
        assert_eq!(m.lookup(ROOT, name("b")).unwrap_err(), libc::EIO);
        assert_eq!(m.write(b, 0, b"late").unwrap_err(), libc::EIO);
        drop(m);

        let mut m = Model::load(disk.path()).unwrap();
        assert_eq!(contents(&mut m, ROOT, "a"), None);
        assert_eq!(contents(&mut m, ROOT, "b").unwrap(), b"B1");
        assert_eq!(contents(&mut m, ROOT, "c"), None);
        assert_eq!(contents(&mut m, ROOT, "d").unwrap(), b"");
        assert_eq!(contents(&mut m, ROOT, "e").unwrap(), b"E");
        assert_eq!(contents(&mut m, ROOT, "e2"), None);
        assert!(m.lookup(ROOT, name("h")).is_ok());
        assert_eq!(contents(&mut m, sub, "x").unwrap(), b"X");
        // c's object was collected; inode numbers are not reused.
        assert!(!disk.path().join(format!("objects/f{c}")).exists());
        assert!(create(&mut m, ROOT, "new") > c);
    }

    #[test]
    fn renames_over_a_file_and_hard_links() {
        let disk = tempfile::tempdir().unwrap();
        let mut m = Model::load(disk.path()).unwrap();
        let old = create(&mut m, ROOT, "state");
        m.write(old, 0, b"old").unwrap();
        m.fsync(old).unwrap();
        m.fsyncdir(ROOT).unwrap();
        let tmp = create(&mut m, ROOT, "state.tmp");
        m.write(tmp, 0, b"new").unwrap();
        m.fsync(tmp).unwrap();
        m.rename(ROOT, name("state.tmp"), ROOT, name("state"), false).unwrap();
        assert_eq!(contents(&mut m, ROOT, "state").unwrap(), b"new");
        assert_eq!(m.attr(old).unwrap_err(), libc::ENOENT, "the old file went");
        drop(m); // no directory sync: the old file is back
        let mut m = Model::load(disk.path()).unwrap();
        assert_eq!(contents(&mut m, ROOT, "state").unwrap(), b"old");
        assert_eq!(contents(&mut m, ROOT, "state.tmp"), None);

        let tmp = create(&mut m, ROOT, "state.tmp");
        m.write(tmp, 0, b"new").unwrap();
        m.fsync(tmp).unwrap();
        m.rename(ROOT, name("state.tmp"), ROOT, name("state"), false).unwrap();
        m.link(tmp, ROOT, name("alias")).unwrap();
        assert_eq!(m.attr(tmp).unwrap().nlink, 2);
        m.fsyncdir(ROOT).unwrap();
        drop(m);
        let mut m = Model::load(disk.path()).unwrap();
        assert_eq!(contents(&mut m, ROOT, "state").unwrap(), b"new");
        assert_eq!(contents(&mut m, ROOT, "alias").unwrap(), b"new");
        assert_eq!(m.lookup(ROOT, name("alias")).unwrap().nlink, 2);
        assert_eq!(
            m.rename(ROOT, name("alias"), ROOT, name("state"), true).unwrap_err(),
            libc::EEXIST
        );
    }

    #[test]
    fn an_open_unlinked_file_lives_until_released() {
        let disk = tempfile::tempdir().unwrap();
        let mut m = Model::load(disk.path()).unwrap();
        let f = create(&mut m, ROOT, "f");
        m.open(f).unwrap();
        m.unlink(ROOT, name("f")).unwrap();
        m.write(f, 0, b"still here").unwrap();
        assert_eq!(read_all(&mut m, f), b"still here");
        m.release(f);
        assert_eq!(m.attr(f).unwrap_err(), libc::ENOENT);
    }

    #[test]
    fn directories_move_and_refuse_cycles() {
        let disk = tempfile::tempdir().unwrap();
        let mut m = Model::load(disk.path()).unwrap();
        let a = m.mkdir(ROOT, name("a"), 0o755, UID, UID).unwrap().ino;
        let b = m.mkdir(a, name("b"), 0o755, UID, UID).unwrap().ino;
        assert_eq!(
            m.rename(ROOT, name("a"), b, name("a"), false).unwrap_err(),
            libc::EINVAL
        );
        assert_eq!(m.rmdir(ROOT, name("a")).unwrap_err(), libc::ENOTEMPTY);
        m.rename(a, name("b"), ROOT, name("b"), false).unwrap();
        let dots: Vec<_> = m.readdir(b).unwrap().into_iter().map(|(i, _, n)| (i, n)).collect();
        assert_eq!(dots[1], (ROOT, OsString::from("..")));
        m.rmdir(ROOT, name("a")).unwrap();
        assert_eq!(m.lookup(ROOT, name("a")).unwrap_err(), libc::ENOENT);
    }
}
