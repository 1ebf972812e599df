#!/usr/bin/python3
"""A FUSE file system that remembers only what was synced, for power-cut tests.

    power-cut-fs.py BACKING MOUNTPOINT [--keep-unsynced P] [--seed N] [--capacity BYTES]

Everything done under MOUNTPOINT is passed through to the directory BACKING at once. Beside it
the file system keeps, in memory, what a disk without a battery would still hold after a power
cut: each file's bytes as of its last fsync/fdatasync, and each directory's names as of its last
fsync (POSIX promises no more: a new or renamed name survives a cut only once its directory was
synced). What BACKING holds when the file system starts counts as synced.

On SIGTERM (the test has SIGKILLed every process using the mount first), or when its standard
input closes (the test that started it is gone), it unmounts and rewrites BACKING to that
durable image: the power cut. With --keep-unsynced P, each 4 KiB page written since its file's
last sync is kept with probability P (seeded: --seed), as a disk that wrote some of its cache
back in any order would; P = 0 (the default) loses every unsynced write. It then prints one
JSON line with what the cut dropped, and exits.

With --capacity BYTES the disk is that small: a write or truncation that would take the files
under it past BYTES fails with ENOSPC. SIGUSR1 frees the space (the capacity is lifted).

pyfuse3 (Debian's python3-pyfuse3, maintained by the libfuse project) serves the FUSE protocol.
Only what the peer and SQLite use is implemented: files and directories, no links.
"""
import errno
import json
import os
import random
import shutil
import signal
import stat
import sys

import pyfuse3
import trio

PAGE = 4096


class PowerCutFs(pyfuse3.Operations):
    def __init__(self, backing, capacity=0):
        super().__init__()
        self.backing = backing
        self.capacity = capacity  # bytes; 0: unlimited
        self.next_ino = pyfuse3.ROOT_INODE + 1
        # FUSE inode numbers are ours and never reused, so a backing inode number that the
        # backing file system reuses after an unlink cannot be mistaken for the old file.
        self.path_of = {pyfuse3.ROOT_INODE: ''}
        self.ino_of = {'': pyfuse3.ROOT_INODE}
        self.is_dir = {pyfuse3.ROOT_INODE: True}
        self.durable_data = {}  # ino -> bytearray, as of the file's last sync
        self.durable_names = {}  # dir ino -> {name: ino}, as of the directory's last sync
        self.durable_mode = {}  # ino -> permission bits, as of the file's last sync
        self.dirty = {}  # ino -> set of page numbers written since the file's last sync
        self.open_files = {}  # fh -> (fd, ino)
        self.open_dirs = {}  # fh -> ino
        self.next_fh = 1
        self.syncs = 0
        self.load(pyfuse3.ROOT_INODE)

    # ---- the durable image -------------------------------------------------------------------

    def load(self, dir_ino):
        """What BACKING holds at start is synced."""
        names = {}
        for name in sorted(os.listdir(self.real(dir_ino))):
            ino = self.remember(self.child_path(dir_ino, name))
            names[name] = ino
            if self.is_dir[ino]:
                self.load(ino)
            else:
                with open(self.real(ino), 'rb') as f:
                    self.durable_data[ino] = bytearray(f.read())
                    self.durable_mode[ino] = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
        self.durable_names[dir_ino] = names

    def sync_file(self, fd, ino):
        st = os.fstat(fd)
        size = st.st_size
        self.durable_mode[ino] = stat.S_IMODE(st.st_mode)
        durable = self.durable_data.setdefault(ino, bytearray())
        del durable[size:]
        if len(durable) < size:
            durable.extend(os.pread(fd, size - len(durable), len(durable)))
        for page in self.dirty.pop(ino, ()):
            at = page * PAGE
            if at < size:
                durable[at:min(at + PAGE, size)] = os.pread(fd, min(PAGE, size - at), at)
        self.syncs += 1

    def sync_dir(self, dir_ino):
        names = {}
        for name in os.listdir(self.real(dir_ino)):
            names[name] = self.remember(self.child_path(dir_ino, name))
        self.durable_names[dir_ino] = names
        self.syncs += 1

    def cut(self, keep, rng):
        """Rewrites BACKING to what survives the cut; returns what was dropped."""
        kept = 0
        if keep > 0:
            for ino, pages in self.dirty.items():
                kept += self.keep_some(ino, pages, keep, rng)
        dropped = {'unsyncedPages': sum(len(p) for p in self.dirty.values()) - kept, 'keptPages': kept}
        for name in os.listdir(self.backing):
            path = os.path.join(self.backing, name)
            shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.remove(path)
        self.write_image(pyfuse3.ROOT_INODE, self.backing)
        return dropped

    def keep_some(self, ino, pages, keep, rng):
        """Writes a random share of a file's unsynced pages into its image; returns how many."""
        if ino not in self.path_of or not os.path.exists(self.real(ino)):
            return 0  # its name is gone: nothing can reach the pages
        with open(self.real(ino), 'rb') as f:
            current = f.read()
        durable = self.durable_data.setdefault(ino, bytearray())
        kept = 0
        for page in sorted(pages):
            if rng.random() >= keep:
                continue
            at = page * PAGE
            chunk = current[at:at + PAGE]
            if len(durable) < at:
                durable.extend(bytes(at - len(durable)))
            durable[at:at + len(chunk)] = chunk
            kept += 1
        return kept

    def write_image(self, dir_ino, target):
        for name, ino in self.durable_names.get(dir_ino, {}).items():
            path = os.path.join(target, name)
            if self.is_dir.get(ino):
                os.mkdir(path)
                self.write_image(ino, path)
            else:
                with open(path, 'wb') as f:
                    f.write(self.durable_data.get(ino, b''))
                os.chmod(path, self.durable_mode.get(ino, 0o644))

    # ---- inodes and paths --------------------------------------------------------------------

    def remember(self, path):
        ino = self.ino_of.get(path)
        if ino is None:
            ino = self.next_ino
            self.next_ino += 1
            self.ino_of[path] = ino
            self.path_of[ino] = path
            self.is_dir[ino] = os.path.isdir(os.path.join(self.backing, path))
        return ino

    def forget_path(self, path):
        ino = self.ino_of.pop(path, None)
        if ino is not None:
            self.path_of.pop(ino, None)

    def real(self, ino):
        path = self.path_of.get(ino)
        if path is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return os.path.join(self.backing, path)

    def child_path(self, dir_ino, name):
        if isinstance(name, bytes):
            name = os.fsdecode(name)
        parent = self.path_of.get(dir_ino)
        if parent is None:
            raise pyfuse3.FUSEError(errno.ENOENT)
        return os.path.join(parent, name) if parent else name

    def attrs(self, ino, st):
        entry = pyfuse3.EntryAttributes()
        for field in ('st_mode', 'st_nlink', 'st_uid', 'st_gid', 'st_rdev', 'st_size',
                      'st_atime_ns', 'st_mtime_ns', 'st_ctime_ns'):
            setattr(entry, field, getattr(st, field))
        entry.st_ino = ino
        entry.st_blksize = 512
        entry.st_blocks = (st.st_size + 511) // 512
        entry.entry_timeout = 0
        entry.attr_timeout = 0
        return entry

    def stat_of(self, ino):
        for fd, open_ino in self.open_files.values():
            if open_ino == ino:
                return os.fstat(fd)  # also an open file whose name is gone
        return os.lstat(self.real(ino))

    # ---- operations --------------------------------------------------------------------------

    async def lookup(self, parent_inode, name, ctx=None):
        path = self.child_path(parent_inode, name)
        try:
            st = os.lstat(os.path.join(self.backing, path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        return self.attrs(self.remember(path), st)

    async def forget(self, inode_list):
        pass  # inode numbers are never reused; the maps stay small in a test

    async def getattr(self, inode, ctx=None):
        try:
            return self.attrs(inode, self.stat_of(inode))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)

    async def setattr(self, inode, attr, fields, fh, ctx):
        try:
            if fields.update_size:
                old_size = self.stat_of(inode).st_size
                self.check_room(old_size, attr.st_size)
                if fh is not None and fh in self.open_files:
                    os.ftruncate(self.open_files[fh][0], attr.st_size)
                else:
                    os.truncate(self.real(inode), attr.st_size)
                self.mark_dirty(inode, min(old_size, attr.st_size), abs(old_size - attr.st_size))
            if fields.update_mode:
                os.chmod(self.real(inode), stat.S_IMODE(attr.st_mode))
            if fields.update_atime or fields.update_mtime:
                st = self.stat_of(inode)
                atime = attr.st_atime_ns if fields.update_atime else st.st_atime_ns
                mtime = attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns
                os.utime(self.real(inode), ns=(atime, mtime))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        return await self.getattr(inode)

    async def mkdir(self, parent_inode, name, mode, ctx):
        path = self.child_path(parent_inode, name)
        try:
            os.mkdir(os.path.join(self.backing, path), mode)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        ino = self.remember(path)
        self.durable_names[ino] = {}
        return await self.getattr(ino)

    async def rmdir(self, parent_inode, name, ctx):
        self.remove(parent_inode, name, os.rmdir)

    async def unlink(self, parent_inode, name, ctx):
        self.remove(parent_inode, name, os.unlink)

    def remove(self, parent_inode, name, remove):
        """The name goes; the durable image keeps it until the directory is synced."""
        path = self.child_path(parent_inode, name)
        try:
            remove(os.path.join(self.backing, path))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        self.forget_path(path)

    async def rename(self, parent_inode_old, name_old, parent_inode_new, name_new, flags, ctx):
        if flags != 0:
            raise pyfuse3.FUSEError(errno.EINVAL)
        old = self.child_path(parent_inode_old, name_old)
        new = self.child_path(parent_inode_new, name_new)
        ino = self.ino_of.get(old)
        if ino is not None and self.is_dir.get(ino):
            raise pyfuse3.FUSEError(errno.EXDEV)  # not needed: its children's paths would move
        try:
            os.rename(os.path.join(self.backing, old), os.path.join(self.backing, new))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        self.forget_path(new)
        self.forget_path(old)
        if ino is not None:
            self.ino_of[new] = ino
            self.path_of[ino] = new

    async def open(self, inode, flags, ctx):
        try:
            fd = os.open(self.real(inode), backing_flags(flags) & ~(os.O_CREAT | os.O_EXCL))
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        return pyfuse3.FileInfo(fh=self.add_open(fd, inode))

    async def create(self, parent_inode, name, mode, flags, ctx):
        path = self.child_path(parent_inode, name)
        real = os.path.join(self.backing, path)
        existed = os.path.lexists(real)  # O_CREAT without O_EXCL opens an existing file as it is
        try:
            fd = os.open(real, backing_flags(flags) | os.O_CREAT, mode)
        except OSError as err:
            raise pyfuse3.FUSEError(err.errno)
        if not existed:
            self.forget_path(path)
        ino = self.remember(path)
        fh = self.add_open(fd, ino)
        return pyfuse3.FileInfo(fh=fh), self.attrs(ino, os.fstat(fd))

    def add_open(self, fd, ino):
        fh = self.next_fh
        self.next_fh += 1
        self.open_files[fh] = (fd, ino)
        return fh

    async def read(self, fh, off, size):
        return os.pread(self.open_files[fh][0], size, off)

    def check_room(self, size, new_size):
        """ENOSPC when a file growing from `size` to `new_size` bytes would overfill the disk."""
        if self.capacity and new_size > size and self.used() + new_size - size > self.capacity:
            raise pyfuse3.FUSEError(errno.ENOSPC)

    def used(self):
        total = 0
        for root, _, files in os.walk(self.backing):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except FileNotFoundError:
                    pass
        return total

    async def write(self, fh, off, buf):
        fd, ino = self.open_files[fh]
        self.check_room(os.fstat(fd).st_size, off + len(buf))
        written = os.pwrite(fd, buf, off)
        self.mark_dirty(ino, off, written)
        return written

    def mark_dirty(self, ino, off, length):
        """Bytes [off, off + length) changed (written, or cut off or zeroed by a truncation)."""
        if length > 0:
            self.dirty.setdefault(ino, set()).update(range(off // PAGE, (off + length - 1) // PAGE + 1))

    async def fsync(self, fh, datasync):
        fd, ino = self.open_files[fh]
        self.sync_file(fd, ino)

    async def flush(self, fh):
        pass

    async def release(self, fh):
        fd, _ = self.open_files.pop(fh)
        os.close(fd)

    async def opendir(self, inode, ctx):
        if not self.is_dir.get(inode):
            raise pyfuse3.FUSEError(errno.ENOTDIR)
        fh = self.next_fh
        self.next_fh += 1
        self.open_dirs[fh] = inode
        return fh

    async def readdir(self, fh, start_id, token):
        dir_ino = self.open_dirs[fh]
        names = sorted(os.listdir(self.real(dir_ino)))
        for i, name in enumerate(names[start_id:], start_id):
            path = self.child_path(dir_ino, name)
            try:
                st = os.lstat(os.path.join(self.backing, path))
            except FileNotFoundError:
                continue
            if not pyfuse3.readdir_reply(token, os.fsencode(name), self.attrs(self.remember(path), st), i + 1):
                break

    async def fsyncdir(self, fh, datasync):
        self.sync_dir(self.open_dirs[fh])

    async def releasedir(self, fh):
        self.open_dirs.pop(fh, None)

    async def statfs(self, ctx):
        st = os.statvfs(self.backing)
        out = pyfuse3.StatvfsData()
        for field in ('f_bsize', 'f_frsize', 'f_blocks', 'f_bfree', 'f_bavail', 'f_files', 'f_ffree', 'f_favail', 'f_namemax'):
            setattr(out, field, getattr(st, field))
        return out


def backing_flags(flags):
    """Read-write whatever was asked: a sync reads what it makes durable, even through a
    write-only descriptor. O_APPEND is the kernel's business: it sends each write with its offset."""
    return (flags & ~(os.O_ACCMODE | os.O_APPEND)) | os.O_RDWR


def parse(argv):
    args = {'keep': 0.0, 'seed': 1, 'capacity': 0}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] == '--keep-unsynced':
            args['keep'] = float(argv[i + 1])
            i += 2
        elif argv[i] == '--capacity':
            args['capacity'] = int(argv[i + 1])
            i += 2
        elif argv[i] == '--seed':
            args['seed'] = int(argv[i + 1])
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if len(rest) != 2 or not 0 <= args['keep'] <= 1:
        sys.exit('usage: power-cut-fs.py BACKING MOUNTPOINT [--keep-unsynced P (0..1)] [--seed N] [--capacity BYTES]')
    args['backing'], args['mountpoint'] = (os.path.abspath(p) for p in rest)
    return args


async def serve(fs):
    """Serves until SIGTERM (or SIGINT), or until standard input closes: the test that started
    it has gone, and no file system may outlive it. SIGUSR1 frees the space."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pyfuse3.main)
        nursery.start_soon(until_stdin_closes, nursery.cancel_scope)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR1) as signals:
            async for signum in signals:
                if signum == signal.SIGUSR1:
                    fs.capacity = 0
                    print(json.dumps({'freed': True}), flush=True)
                    continue
                nursery.cancel_scope.cancel()
                break


async def until_stdin_closes(scope):
    stdin = trio.lowlevel.FdStream(os.dup(0))
    while await stdin.receive_some(4096):
        pass
    scope.cancel()


def main():
    args = parse(sys.argv[1:])
    fs = PowerCutFs(args['backing'], args['capacity'])
    pyfuse3.init(fs, args['mountpoint'], {'fsname=power-cut-fs', 'default_permissions'})
    print(json.dumps({'mounted': args['mountpoint']}), flush=True)
    try:
        trio.run(serve, fs)
    finally:
        pyfuse3.close(unmount=True)
    dropped = fs.cut(args['keep'], random.Random(args['seed']))
    print(json.dumps({'cut': True, 'syncs': fs.syncs, **dropped}), flush=True)


if __name__ == '__main__':
    main()
