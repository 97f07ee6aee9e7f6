package dev.reclaimlab.fs;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.mm.SchedMm;
import dev.reclaimlab.mm.UserBuffer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * fs/readdir.c of Linux 3.14: getdents64() -> iterate_dir() -> ->iterate() -> filldir64(). iterate_dir()
 * takes the directory's i_mutex with mutex_lock_killable() (exclusive: iterate_shared is 4.7's) and holds it
 * while the filesystem emits every entry, and filldir64() writes each struct linux_dirent64 into the caller's
 * buffer with __put_user() and copy_to_user(): a first write to a page of a fresh process's buffer is a page
 * fault, a GFP_HIGHUSER_MOVABLE allocation under that i_mutex ({@link UserBuffer}). What the seed's Chinner
 * calls "GFP_KERNEL memory allocation with the i_mutex held all over the place".
 *
 * <p>A record is d_ino (u64), d_off (s64, the position after it), d_reclen (u16), d_type (u8: DT_UNKNOWN, as
 * XFS without the ftype feature gives) and the NUL-terminated name, 8-byte aligned. The position is the count
 * of entries returned; where the next call resumes is kept by name (the entries come in name order), so an
 * entry created or removed between two calls moves no other entry, as XFS's directory cookies do not. A
 * record that does not fit, or whose copy faults, stops the walk and stays for the next call; the call
 * returns the bytes written, or EINVAL (the first record does not fit) or EFAULT (its copy faulted) when it
 * wrote none. Not modelled: file_accessed() (the directory's atime). A departure: 3.14's getdents64() takes
 * the file with fdget(), without f_pos_lock; here f_pos is read and written under f_pos_lock, as every
 * {@link File} position is, so a proof's held locks show it (uncontended: one task per open directory).
 */
final class Readdir {
    static final int NAME_OFFSET = 19;
    static final int DT_UNKNOWN = 0;

    private Readdir() {
    }

    /** struct linux_dirent64's d_reclen for a name of {@code namlen} bytes. */
    static int reclen(int namlen) {
        return (NAME_OFFSET + namlen + 1 + 7) & ~7;
    }

    static int getdents64(SuperBlock sb, Namei namei, File f, UserBuffer buf, long uoff, int count) {
        if (!buf.accessOk(uoff, count)) {
            throw new VfsException(-Errno.EFAULT, "getdents64(" + f + "): " + count + " bytes at " + uoff + " of "
                    + buf);
        }
        Inode dir = f.inodeUnchecked();
        if (!dir.isDir()) {
            throw new VfsException(-Errno.ENOTDIR, "getdents64(" + f + ")");
        }
        f.fPosLock().mutexLock();
        try {
            if (dir.inodeLockKillable() != 0) {
                throw new VfsException(-Errno.EINTR, "getdents64(" + f + "): killed waiting for " + dir);
            }
            SchedMm.MemallocScope fstrans = namei.exportedDirFstrans();
            Filldir fill = new Filldir(f, buf, uoff, count);
            try {
                if (dir.nlink() == 0) {
                    throw new VfsException(-Errno.ENOENT, "getdents64(" + f + "): directory removed");
                }
                sb.dirOps().iterate(dir, f.dirCursor(), fill);
            } finally {
                if (fstrans != null) {
                    fstrans.close();
                }
                dir.inodeUnlockShared();
            }
            return fill.result();
        } finally {
            f.fPosLock().mutexUnlock();
        }
    }

    /** struct getdents_callback64 and filldir64(). */
    private static final class Filldir implements DirActor {
        private final File f;
        private final UserBuffer buf;
        private final int count;
        private long current;
        private long previous = -1;
        private int left;
        private int error;
        // Scratch for one record (grown for a name past NAME_MAX bytes) and for a d_off.
        private byte[] rec = new byte[reclen(255)];
        private final byte[] off = new byte[8];

        Filldir(File f, UserBuffer buf, long uoff, int count) {
            this.f = f;
            this.buf = buf;
            this.count = count;
            this.current = uoff;
            this.left = count;
        }

        @Override
        public boolean emit(String name, long ino) {
            byte[] n = name.getBytes(StandardCharsets.UTF_8);
            int reclen = reclen(n.length);
            if (reclen > left) {
                error = -Errno.EINVAL;
                return false;
            }
            if (reclen > rec.length) {
                rec = new byte[reclen];
            }
            putLong(rec, 0, ino);
            // d_off 0 until the next record or the end sets it; the name's NUL and the padding zero.
            putLong(rec, 8, 0);
            Arrays.fill(rec, NAME_OFFSET + n.length, reclen, (byte) 0);
            rec[16] = (byte) reclen;
            rec[17] = (byte) (reclen >>> 8);
            rec[18] = DT_UNKNOWN;
            System.arraycopy(n, 0, rec, NAME_OFFSET, n.length);
            if (buf.copyToUser(current, rec, 0, reclen) != 0) {
                error = -Errno.EFAULT;
                return false;
            }
            long pos = f.pos() + 1;
            setPreviousOff();
            previous = current;
            current += reclen;
            left -= reclen;
            f.setPos(pos);
            f.setDirCursor(name);
            return true;
        }

        /** getdents64()'s return: the bytes written (the last record's d_off set), else the walk's error. */
        int result() {
            if (previous < 0) {
                if (error != 0) {
                    throw new VfsException(error, "getdents64(" + f + "): " + (error == -Errno.EINVAL
                            ? "the next entry does not fit in " + count + " bytes" : "fault on " + buf));
                }
                return 0;
            }
            setPreviousOff();
            return count - left;
        }

        /** The previous record's d_off, the position after it: its page is in already, so this cannot fault. */
        private void setPreviousOff() {
            if (previous >= 0) {
                putLong(off, 0, f.pos());
                buf.copyToUser(previous + 8, off, 0, 8);
            }
        }

        private static void putLong(byte[] b, int at, long v) {
            for (int i = 0; i < 8; i++) {
                b[at + i] = (byte) (v >>> (8 * i));
            }
        }
    }
}
