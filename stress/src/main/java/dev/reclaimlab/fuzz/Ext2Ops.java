package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.UserFault;

import java.util.Arrays;

/**
 * The 2.2 fuzz's ext2 operations: create, open, close and unlink with good and bad names; read(2) and write(2)
 * from Java buffers and through the process's memory; ftruncate; the kernel-memory write shared mappings use;
 * fget/fput; each with bad offsets, lengths, buffers, processes and released files.
 */
final class Ext2Ops extends Linux22Context {
    Ext2Ops(Linux22Context c) {
        super(c);
    }

    void create() {
        if (!valid()) {
            String bad = BAD_NAMES[r.nextInt(BAD_NAMES.length)];
            int c = r.nextInt(3);
            call(c == 0 ? "ext2 create" : c == 1 ? "ext2 open" : "ext2 unlink", false, "'" + shortName(bad) + "'",
                    () -> {
                        if (c == 0) {
                            fs.create(null, bad).close();
                        } else if (c == 1) {
                            fs.open(null, bad).close();
                        } else {
                            fs.unlink(null, bad);
                        }
                        return Res.SUCCESS;
                    });
            return;
        }
        if (files.size() >= MAX_FILES) {
            File22Model f = pick(files);
            if (f.maps == 0) {
                closeOne(f);
            }
            return;
        }
        String name = freshName();
        call("ext2 create", true, name, () -> {
            Ext2File f = fs.create(null, name);
            files.add(new File22Model(name, f));
            return Res.SUCCESS;
        });
    }

    private static String shortName(String s) {
        return s == null ? "null" : s.length() > 20 ? s.substring(0, 8) + "...(" + s.length() + ")"
                : s.replace("\0", "\\0");
    }

    /** close() of a file nothing maps, unlinking it first or after (its blocks go with the last fput). */
    void close() {
        File22Model f = pickFile();
        if (f == null) {
            return;
        }
        if (valid()) {
            if (f.maps == 0) {
                closeOne(f);
            }
            return;
        }
        File22Model x = released.isEmpty() ? null : pick(released);
        if (x == null) {
            return;
        }
        int c = r.nextInt(3);
        call(c == 0 ? "ext2 close" : c == 1 ? "fget" : "fput", false, x + " (released)", () -> {
            if (c == 0) {
                x.f.close();
            } else if (c == 1) {
                x.f.fget();
            } else {
                x.f.fput();
            }
            return Res.SUCCESS;
        });
    }

    void closeOne(File22Model f) {
        files.remove(f);
        boolean unlinkFirst = r.nextBoolean();
        call("ext2 unlink+close", true, f.toString(), () -> {
            if (unlinkFirst) {
                fs.unlink(null, f.name);
                f.name = null;
            }
            f.f.close();
            f.closed = true;
            if (!unlinkFirst) {
                fs.unlink(null, f.name);
                f.name = null;
            }
            retire(f);
            return Res.SUCCESS;
        });
    }

    /** write(2) from a Java buffer; the shadow takes what was written. */
    void write() {
        File22Model f = valid() ? pickFile() : null;
        if (f != null) {
            long pos = r.nextInt(4) == 0 ? f.data.length : r.nextInt(Math.max(1, Math.min(f.data.length + 8192,
                    MAX_FILE_BYTES)));
            int len = (int) Math.min(1 + r.nextInt(r.nextBoolean() ? 512 : 16 << 10), MAX_FILE_BYTES - pos);
            if (len <= 0) {
                return;
            }
            byte[] src = new byte[len];
            r.nextBytes(src);
            call("ext2 write", true, f + ", " + pos + ", " + len, () -> {
                long n = f.f.write(src, 0, len, pos);
                return wrote(f, pos, src, n, len);
            });
            return;
        }
        badRw(true);
    }

    private static Res wrote(File22Model f, long pos, byte[] src, long n, int len) {
        if (n > len) {
            throw new Harness.Corrupt("wrote " + n + " of " + len);
        }
        if (n > 0) {
            fileStore(f, pos, src, (int) n);
        }
        return n == len ? Res.SUCCESS : Res.ERROR;
    }

    /** read(2) into a Java buffer: the bytes are the shadow's. */
    void read() {
        File22Model f = valid() ? pickFile() : null;
        if (f != null) {
            long pos = r.nextInt(f.data.length + 4096);
            int len = r.nextInt(r.nextBoolean() ? 512 : 32 << 10);
            call("ext2 read", true, f + ", " + pos + ", " + len, () -> {
                byte[] got = new byte[len + 3];
                long n = f.f.read(got, 3, len, pos);
                return check(f, pos, len, Arrays.copyOfRange(got, 3, 3 + (int) Math.max(0, Math.min(n, len))), n);
            });
            return;
        }
        badRw(false);
    }

    private static Res check(File22Model f, long pos, int len, byte[] got, long n) {
        if (f.unknown) {
            return n < 0 ? Res.ERROR : Res.SUCCESS;
        }
        long want = Math.max(0, Math.min(len, f.data.length - pos));
        if (n > want) {
            throw new Harness.Corrupt("read " + n + " bytes where the file holds " + want);
        }
        if (n < 0) {
            return Res.ERROR;
        }
        byte[] exp = Arrays.copyOfRange(f.data, (int) Math.min(pos, f.data.length), (int) Math.min(pos + n,
                f.data.length));
        if (!Arrays.equals(got, exp)) {
            throw new Harness.Corrupt("ext2 file read back wrong at " + pos + " (" + n + " bytes)");
        }
        return n == want ? Res.SUCCESS : Res.ERROR;
    }

    /** Reads and writes a file refuses: a released file, negative offsets and lengths, bad buffer ranges. */
    private void badRw(boolean write) {
        File22Model f = pickFile();
        int c = r.nextInt(4);
        File22Model use = c == 0 || f == null ? (released.isEmpty() ? null : pick(released)) : f;
        if (use == null) {
            return;
        }
        long pos = c == 1 ? -1 - r.nextInt(1 << 20) : 0;
        int len = c == 2 ? -1 - r.nextInt(1 << 20) : c == 3 ? 64 : 16;
        byte[] buf = new byte[c == 3 ? 32 : 16];
        if (write && c == 0) {
            r.nextBytes(buf);
        }
        String kind = c == 0 ? "released file" : c == 1 ? "negative offset" : c == 2 ? "negative length"
                : "buffer shorter than the length";
        call(write ? "ext2 write" : "ext2 read", false, use + ", " + pos + ", " + len + " (" + kind + ")",
                () -> {
                    long n = write ? use.f.write(buf, 0, len, pos) : use.f.read(buf, 0, len, pos);
                    return n < 0 ? Res.ERROR : Res.SUCCESS;
                });
    }

    /** write(2) from the process's anonymous memory, whose bytes the shadow knows, and from bad buffers. */
    void writeUser() {
        File22Model f = pickFile();
        Map22 m = pickMap(true);
        if (f == null) {
            return;
        }
        if (valid() && m != null) {
            long from = r.nextLong(m.len());
            int len = (int) Math.min(Math.min(m.len() - from, 1 + r.nextInt(12 << 10)), MAX_FILE_BYTES - f.data.length);
            long pos = r.nextInt(f.data.length + 1);
            if (len <= 0) {
                return;
            }
            byte[] src = expected(m, from, len);
            call("ext2 writeUser", true, f + ", " + m + " +" + from + ", " + len + " at " + pos, () -> {
                long n;
                try {
                    n = f.f.writeUser(p(), m.v.start() + from, len, pos);
                } catch (UserFault e) {
                    f.unknown = true;
                    throw e;
                }
                return wrote(f, pos, src, n, len);
            });
            return;
        }
        userRwBad(f, m, true);
    }

    /** read(2) into the process's anonymous memory: the shadow of that memory takes the file's bytes. */
    void readToUser() {
        File22Model f = pickFile();
        Map22 m = pickMap(true);
        if (f == null) {
            return;
        }
        if (valid() && m != null) {
            long from = r.nextLong(m.len());
            long pos = r.nextInt(f.data.length + 1024);
            int len = (int) Math.min(m.len() - from, 1 + r.nextInt(12 << 10));
            call("ext2 readToUser", true, f + ", " + m + " +" + from + ", " + len + " at " + pos, () -> {
                long n = f.f.readToUser(p(), m.v.start() + from, len, pos);
                if (n > 0) {
                    byte[] got = new byte[(int) n];
                    mem22ReadUser(m.v.start() + from, got);
                    Res res = check(f, pos, len, got, n);
                    store(m, from, got, 0, (int) n);
                    return res;
                }
                return check(f, pos, len, new byte[0], n);
            });
            return;
        }
        userRwBad(f, m, false);
    }

    private void mem22ReadUser(long uaddr, byte[] dst) {
        mm.memory().readUser(p(), uaddr, dst, 0, dst.length);
    }

    /**
     * read(2) and write(2) through a bad user buffer (2.2 returns -EFAULT), with a negative offset or length
     * (-EINVAL), for a process that is not current, or on a released file.
     */
    private void userRwBad(File22Model f, Map22 m, boolean write) {
        int c = r.nextInt(5);
        long uaddr = c == 0 || m == null ? unmappedAddr() : m.v.start();
        long pos = c == 1 ? -1 - r.nextInt(1 << 20) : 0;
        int len = c == 2 ? -1 - r.nextInt(1 << 20) : 1 + r.nextInt(64);
        boolean nc = c == 3 && m != null;
        if (c == 4 && released.isEmpty() || (c == 0 || m == null) && !write && f.data.length == 0) {
            // A read at the end of the file copies nothing and returns 0, as 2.2's does, whatever the buffer.
            return;
        }
        File22Model use = c == 4 ? pick(released) : f;
        if (!write && use == f && c != 0 && c != 3 && m != null) {
            // A read into known memory that the fuzz expects refused must not have changed it: use the scratch.
            Map22 s = pickScratch();
            uaddr = s == null ? unmappedAddr() : s.v.start();
        }
        if (!write && nc) {
            return;
        }
        String kind = c == 0 || m == null ? "unmapped user buffer" : c == 1 ? "negative offset" : c == 2
                ? "negative length" : nc ? "not the current process" : use != f ? "released file" : "unmapped";
        long ua = uaddr;
        call(write ? "ext2 writeUser" : "ext2 readToUser", false, use + ", 0x" + Long.toHexString(ua) + ", "
                + len + " at " + pos + " (" + kind + ")", () -> {
                    long n = write ? use.f.writeUser(nc ? other : p(), ua, len, pos)
                            : use.f.readToUser(p(), ua, len, pos);
                    return n < 0 ? Res.ERROR : Res.SUCCESS;
                });
    }

    /**
     * ftruncate(2), also of a file mapped shared and private (vmtruncate() zaps the pages beyond the size, the
     * shadow follows); a negative size is -EINVAL.
     */
    void ftruncate() {
        File22Model f = pickFile();
        if (f == null) {
            return;
        }
        if (valid()) {
            long size = r.nextInt(3) == 0 ? 0 : r.nextInt(Math.min(f.data.length + 16384, MAX_FILE_BYTES));
            String mapped = f.maps > 0 ? " (mapped " + f.maps + " times)" : "";
            call("ext2 ftruncate", true, f + ", " + size + mapped, () -> {
                int e = f.f.ftruncate(size);
                if (e == 0) {
                    truncated(f, size);
                }
                return e == 0 ? Res.SUCCESS : Res.ERROR;
            });
            return;
        }
        int c = r.nextInt(4);
        boolean rel = c == 0 && !released.isEmpty();
        File22Model use = rel ? pick(released) : f;
        long size = rel ? 0 : c == 1 ? -1 - r.nextInt(1 << 20) : c == 2 ? Long.MIN_VALUE + r.nextInt(1 << 12)
                : r.nextBoolean() ? Long.MAX_VALUE - r.nextInt(1 << 12) : (1L << 31) + ((long) r.nextInt(1 << 20) << 12);
        String kind = rel ? "released file" : size < 0 ? "negative size" : "size past 2.2's off_t i_size";
        call("ext2 ftruncate", false, use + ", " + size + " (" + kind + ")" + (use.maps > 0 ? " (mapped)" : ""),
                () -> use.f.ftruncate(size) == 0 ? Res.SUCCESS : Res.ERROR);
    }

    /** f_op->write() from kernel memory, as do_write_page() calls it: bad kernel addresses and lengths only. */
    void badWriteKernel() {
        File22Model f = pickFile();
        if (f == null) {
            return;
        }
        int c = r.nextInt(4);
        long kaddr = c == 0 ? badKaddr() : c == 1 ? kbuf + PhysMem.PAGE_SIZE - 8 + (mm.mem().size()
                - (kbuf - PhysMem.PAGE_OFFSET) - PhysMem.PAGE_SIZE) : kbuf;
        int len = c == 2 ? -1 - r.nextInt(1 << 20) : c == 1 ? 64 : 17 + r.nextInt(PhysMem.PAGE_SIZE - 17);
        long pos = c == 3 ? -PhysMem.PAGE_SIZE * (1L + r.nextInt(16)) : 0;
        String kind = c == 0 ? "not kernel memory" : c == 1 ? "runs off the end of memory" : c == 2 ? "negative length"
                : "negative position";
        call("ext2 writeKernel", false, f + ", 0x" + Long.toHexString(kaddr) + ", " + len + " at " + pos + " ("
                + kind + ")", () -> {
                    f.f.iSem().down();
                    try {
                        long n = f.f.writeKernel(kaddr, len, pos);
                        return n < 0 ? Res.ERROR : Res.SUCCESS;
                    } finally {
                        f.f.iSem().up();
                    }
                });
    }
}
