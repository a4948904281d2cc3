//! `powercut-fs BACKING MOUNTPOINT`: a FUSE file system that loses what
//! was not synced when the power is cut, for the power-loss test
//! (`tests/tests/power_loss.rs`, README "Testing crash safety").
//!
//! The disk is the folder BACKING; writes, creations, renames and removals
//! stay in memory until the program syncs them (`fsync`/`fdatasync` of the
//! file, `fsync` of the directory), as [`model`] describes. The test drives
//! it over stdin and stdout, one line each way:
//!
//! - it prints `ready` once mounted (or an error on stderr, and exits 1);
//! - `cut`: drops everything not synced, fails every later operation with
//!   `EIO`, and answers `cut files=F bytes=B dirs=D` (what was dropped);
//! - `status`: answers `status files=F bytes=B dirs=D file_syncs=N dir_syncs=M`;
//! - `exit`, or the end of stdin (the test went away): unmounts and exits.
//!   Unmounting is a power cut too: only what was synced is on the disk.
//!
//! Mounting needs `/dev/fuse` and root (the `mount` system call), or
//! `fusermount3` for another user: the `fuser` crate mounts without libfuse.

#[cfg(target_os = "linux")]
mod model;

#[cfg(not(target_os = "linux"))]
fn main() {
    eprintln!("powercut-fs: Linux only");
    std::process::exit(2);
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::OsStr;
    use std::io::BufRead;
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex, MutexGuard};
    use std::time::{Duration, SystemTime};

    use fuser::{
        BsdFileFlags, Config, Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
        LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
        ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
    };

    use super::model::{Attr, Kind, Model};

    /// How long the kernel may cache names and attributes. Every change goes
    /// through this one mount, so its caches stay right; after a cut they
    /// are never used again (the program is killed, the mount goes).
    const TTL: Duration = Duration::from_secs(1);

    struct PowercutFs(Arc<Mutex<Model>>);

    impl PowercutFs {
        fn model(&self) -> MutexGuard<'_, Model> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    fn errno(e: i32) -> Errno {
        Errno::from_i32(e)
    }

    fn file_attr(a: &Attr) -> FileAttr {
        FileAttr {
            ino: INodeNo(a.ino),
            size: a.size,
            blocks: a.size.div_ceil(512),
            atime: a.mtime,
            mtime: a.mtime,
            ctime: a.ctime,
            crtime: a.ctime,
            kind: match a.kind {
                Kind::File => FileType::RegularFile,
                Kind::Dir => FileType::Directory,
            },
            perm: a.perm,
            nlink: a.nlink,
            uid: a.uid,
            gid: a.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn time(t: TimeOrNow) -> SystemTime {
        match t {
            TimeOrNow::SpecificTime(t) => t,
            TimeOrNow::Now => SystemTime::now(),
        }
    }

    fn entry(reply: ReplyEntry, r: Result<Attr, i32>) {
        match r {
            Ok(a) => reply.entry(&TTL, &file_attr(&a), Generation(0)),
            Err(e) => reply.error(errno(e)),
        }
    }

    fn empty(reply: ReplyEmpty, r: Result<(), i32>) {
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(e)),
        }
    }

    impl Filesystem for PowercutFs {
        fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
            entry(reply, self.model().lookup(parent.0, name));
        }

        fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
            match self.model().attr(ino.0) {
                Ok(a) => reply.attr(&TTL, &file_attr(&a)),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn setattr(
            &self,
            _req: &Request,
            ino: INodeNo,
            mode: Option<u32>,
            uid: Option<u32>,
            gid: Option<u32>,
            size: Option<u64>,
            _atime: Option<TimeOrNow>,
            mtime: Option<TimeOrNow>,
            _ctime: Option<SystemTime>,
            _fh: Option<FileHandle>,
            _crtime: Option<SystemTime>,
            _chgtime: Option<SystemTime>,
            _bkuptime: Option<SystemTime>,
            _flags: Option<BsdFileFlags>,
            reply: ReplyAttr,
        ) {
            let perm = mode.map(|m| (m & 0o7777) as u16);
            match self.model().setattr(ino.0, perm, uid, gid, size, mtime.map(time)) {
                Ok(a) => reply.attr(&TTL, &file_attr(&a)),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn mknod(
            &self,
            req: &Request,
            parent: INodeNo,
            name: &OsStr,
            mode: u32,
            umask: u32,
            _rdev: u32,
            reply: ReplyEntry,
        ) {
            if mode & libc::S_IFMT != libc::S_IFREG {
                return reply.error(Errno::EPERM); // regular files only
            }
            let perm = (mode & !umask & 0o7777) as u16;
            entry(reply, self.model().mknod(parent.0, name, perm, req.uid(), req.gid()));
        }

        fn mkdir(&self, req: &Request, parent: INodeNo, name: &OsStr, mode: u32, umask: u32, reply: ReplyEntry) {
            let perm = (mode & !umask & 0o7777) as u16;
            entry(reply, self.model().mkdir(parent.0, name, perm, req.uid(), req.gid()));
        }

        fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
            empty(reply, self.model().unlink(parent.0, name));
        }

        fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
            empty(reply, self.model().rmdir(parent.0, name));
        }

        fn rename(
            &self,
            _req: &Request,
            parent: INodeNo,
            name: &OsStr,
            newparent: INodeNo,
            newname: &OsStr,
            flags: RenameFlags,
            reply: ReplyEmpty,
        ) {
            if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
                return reply.error(Errno::EINVAL); // no exchange, no whiteouts
            }
            let no_replace = flags.contains(RenameFlags::RENAME_NOREPLACE);
            empty(
                reply,
                self.model().rename(parent.0, name, newparent.0, newname, no_replace),
            );
        }

        fn link(&self, _req: &Request, ino: INodeNo, newparent: INodeNo, newname: &OsStr, reply: ReplyEntry) {
            entry(reply, self.model().link(ino.0, newparent.0, newname));
        }

        fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
            match self.model().open(ino.0) {
                Ok(()) => reply.opened(FileHandle(0), FopenFlags::empty()),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn create(
            &self,
            req: &Request,
            parent: INodeNo,
            name: &OsStr,
            mode: u32,
            umask: u32,
            _flags: i32,
            reply: ReplyCreate,
        ) {
            let perm = (mode & !umask & 0o7777) as u16;
            let mut m = self.model();
            match m
                .mknod(parent.0, name, perm, req.uid(), req.gid())
                .and_then(|a| m.open(a.ino).map(|()| a))
            {
                Ok(a) => reply.created(&TTL, &file_attr(&a), Generation(0), FileHandle(0), FopenFlags::empty()),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn read(
            &self,
            _req: &Request,
            ino: INodeNo,
            _fh: FileHandle,
            offset: u64,
            size: u32,
            _flags: OpenFlags,
            _lock_owner: Option<LockOwner>,
            reply: ReplyData,
        ) {
            match self.model().read(ino.0, offset, size) {
                Ok(data) => reply.data(&data),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn write(
            &self,
            _req: &Request,
            ino: INodeNo,
            _fh: FileHandle,
            offset: u64,
            data: &[u8],
            _write_flags: WriteFlags,
            _flags: OpenFlags,
            _lock_owner: Option<LockOwner>,
            reply: ReplyWrite,
        ) {
            match self.model().write(ino.0, offset, data) {
                Ok(n) => reply.written(n),
                Err(e) => reply.error(errno(e)),
            }
        }

        /// `close`: nothing reaches the disk (but a dead disk says so).
        fn flush(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
            empty(reply, self.model().attr(ino.0).map(|_| ()));
        }

        fn release(
            &self,
            _req: &Request,
            ino: INodeNo,
            _fh: FileHandle,
            _flags: OpenFlags,
            _lock_owner: Option<LockOwner>,
            _flush: bool,
            reply: ReplyEmpty,
        ) {
            self.model().release(ino.0);
            reply.ok();
        }

        fn fsync(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
            empty(reply, self.model().fsync(ino.0));
        }

        fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
            match self.model().attr(ino.0) {
                Ok(a) if a.kind == Kind::Dir => reply.opened(FileHandle(0), FopenFlags::empty()),
                Ok(_) => reply.error(Errno::ENOTDIR),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn readdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
            match self.model().readdir(ino.0) {
                Ok(entries) => {
                    for (i, (child, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
                        let kind = match kind {
                            Kind::File => FileType::RegularFile,
                            Kind::Dir => FileType::Directory,
                        };
                        if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                            break;
                        }
                    }
                    reply.ok();
                }
                Err(e) => reply.error(errno(e)),
            }
        }

        fn fsyncdir(&self, _req: &Request, ino: INodeNo, _fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
            empty(reply, self.model().fsyncdir(ino.0));
        }

        fn statfs(&self, _req: &Request, ino: INodeNo, reply: ReplyStatfs) {
            match self.model().attr(ino.0) {
                // 64 GiB, nearly all free.
                Ok(_) => reply.statfs(1 << 24, 1 << 24, 1 << 24, 1 << 20, 1 << 20, 4096, 255, 4096),
                Err(e) => reply.error(errno(e)),
            }
        }

        fn access(&self, _req: &Request, ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
            empty(reply, self.model().attr(ino.0).map(|_| ()));
        }
    }

    fn fail(what: String) -> ! {
        eprintln!("powercut-fs: {what}");
        std::process::exit(1);
    }

    pub fn main() {
        let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
        let [backing, mountpoint] = args.as_slice() else {
            eprintln!("usage: powercut-fs BACKING MOUNTPOINT (then commands on stdin: cut, status, exit)");
            std::process::exit(2);
        };
        let model = Model::load(backing).unwrap_or_else(|e| fail(format!("loading {}: {e}", backing.display())));
        let model = Arc::new(Mutex::new(model));
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("powercut-fs".into()),
            MountOption::Subtype("powercut".into()),
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        let session = fuser::spawn_mount(PowercutFs(model.clone()), mountpoint, &config).unwrap_or_else(|e| {
            fail(format!(
                "cannot mount on {}: {e} (FUSE needs /dev/fuse, and root or fusermount3)",
                mountpoint.display()
            ))
        });
        println!("ready");

        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            let mut m = model.lock().unwrap_or_else(|e| e.into_inner());
            match line.trim() {
                "cut" => println!("cut {}", m.cut()),
                "status" => println!(
                    "status {} file_syncs={} dir_syncs={}",
                    m.unsynced(),
                    m.file_syncs,
                    m.dir_syncs
                ),
                "exit" => break,
                other => println!("error: unknown command {other:?}"),
            }
        }
        // Power off: the page cache goes with this process.
        model.lock().unwrap_or_else(|e| e.into_inner()).cut();
        if let Err(e) = session.umount_and_join() {
            eprintln!("powercut-fs: unmounting {}: {e}; detaching it", mountpoint.display());
            detach(mountpoint);
        }
        println!("unmounted");
    }

    /// `umount -l`: the mount leaves the tree at once; the kernel ends it
    /// when this process (its FUSE connection) goes.
    fn detach(mountpoint: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let Ok(path) = std::ffi::CString::new(mountpoint.as_os_str().as_bytes()) else {
            return;
        };
        // SAFETY: a valid NUL-terminated path; umount2 keeps no pointer.
        if unsafe { libc::umount2(path.as_ptr(), libc::MNT_DETACH) } != 0 {
            eprintln!(
                "powercut-fs: detaching {}: {}",
                mountpoint.display(),
                std::io::Error::last_os_error()
            );
        }
    }
}
