package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;

import java.util.Arrays;

/** The VFS fuzz's operations on data: reads, writes, seeks and fsyncs through open files with bad offsets, lengths, buffers and files, stable files, the file operations called directly, the shrinker and sync. */
final class VfsDataOps extends VfsContext {
    VfsDataOps(VfsContext c) {
        super(c);
    }

    void write() {
        Handle x = valid() ? pickHandle(true) : null;
        if (x != null) {
            long pos = offset();
            byte[] data = new byte[r.nextInt(100) < 90 ? r.nextInt(16 << 10) : r.nextInt(64 << 10)];
            r.nextBytes(data);
            boolean fpos = r.nextInt(5) == 0 && x.fpos <= Long.MAX_VALUE - data.length;
            long at = fpos ? x.fpos : pos;
            h.call(k, fpos ? "write" : "pwrite", true, x + ", " + (fpos ? "f_pos " : "") + at + ", " + data.length, () -> {
                long n = fpos ? vfs.write(x.f, data) : vfs.write(x.f, at, data);
                if (n < 0 || n > data.length) {
                    throw new Harness.Corrupt("wrote " + n + " of " + data.length);
                }
                if (fpos) {
                    x.fpos += n;
                }
                scratch.computeIfPresent(x.path, (p, m) -> Math.max(m, at + n));
                return n == data.length ? Res.SUCCESS : Res.ERROR;
            });
            return;
        }
        Handle any = open.isEmpty() ? null : pick(open);
        File f;
        long pos = 0;
        byte[] data = new byte[16];
        String kind;
        int c = r.nextInt(6);
        if (c == 0 && any != null && (any.mode == File.O_RDONLY || any.dir)) {
            f = any.f;
            kind = "not open for writing";
        } else if (c == 1 && any != null && any.mode != File.O_RDONLY && !any.dir) {
            f = any.f;
            pos = r.nextBoolean() ? -1 - r.nextInt(1 << 20) : Long.MAX_VALUE - r.nextInt(8);
            kind = pos < 0 ? "negative offset" : "end overflows";
        } else if (c == 2 && any != null && any.mode != File.O_RDONLY && !any.dir) {
            f = any.f;
            data = null;
            kind = "null buffer";
        } else {
            f = badFile();
            kind = "closed, none or another mount's";
        }
        File ff = f;
        long p = pos;
        byte[] d = data;
        h.call(k, "pwrite", false, ff + ", " + p + " (" + kind + ")", () -> {
            vfs.write(ff, p, d);
            return Res.SUCCESS;
        });
    }

    void read() {
        Handle x = valid() ? pickHandle(false) : null;
        if (x != null) {
            byte[] want = stable.get(x.path);
            long size = want != null ? want.length : scratch.getOrDefault(x.path, 0L);
            long pos = want != null ? r.nextInt(want.length + 2) : r.nextInt(4) == 0 ? offset()
                    : (long) (r.nextDouble() * Math.min((double) size + 8192, Long.MAX_VALUE / 2.0));
            boolean huge = r.nextInt(1000) < 5 && size < (1 << 20);
            int len = huge ? Integer.MAX_VALUE - (int) Math.min(pos, 1 << 20) : r.nextInt(64 << 10);
            if (pos > Long.MAX_VALUE - len) {
                pos = Long.MAX_VALUE - len;
            }
            long p = pos;
            int c = r.nextInt(4);
            h.call(k, c == 0 ? "readInto" : "pread", true, x + ", " + p + ", " + len, () -> {
                byte[] got;
                if (c == 0) {
                    byte[] buf = new byte[Math.min(len, 256 << 10) + 8];
                    int n = vfs.read(x.f, p, buf, 8, buf.length - 8);
                    if (n < 0 || n > buf.length - 8) {
                        throw new Harness.Corrupt("read " + n + " into " + (buf.length - 8));
                    }
                    got = Arrays.copyOfRange(buf, 8, 8 + n);
                } else {
                    got = vfs.read(x.f, p, len);
                    if (got.length > Math.min(len, Vfs.MAX_READ_ALLOC)) {
                        throw new Harness.Corrupt("read " + got.length + " bytes for " + len);
                    }
                }
                if (want != null) {
                    int from = (int) Math.min(p, want.length);
                    byte[] exp = Arrays.copyOfRange(want, from, (int) Math.min(want.length, from + (long) got.length));
                    if (!Arrays.equals(got, exp) || (got.length == 0 && from < want.length && len > 0)) {
                        throw new Harness.Corrupt("a stable file read back wrong at " + p + " (" + got.length
                                + " bytes)");
                    }
                }
                return Res.SUCCESS;
            });
            return;
        }
        Handle any = open.isEmpty() ? null : pick(open);
        File f;
        long pos = 0;
        int len = 16;
        String kind;
        int c = r.nextInt(5);
        if (c == 0 && any != null && (any.mode == File.O_WRONLY || any.dir)) {
            f = any.f;
            kind = any.dir ? "a directory" : "not open for reading";
        } else if (c == 1 && any != null && any.mode != File.O_WRONLY && !any.dir) {
            f = any.f;
            int d = r.nextInt(3);
            pos = d == 0 ? -1 - r.nextInt(100) : d == 1 ? Long.MAX_VALUE - r.nextInt(8) : 0;
            len = d == 2 ? -1 - r.nextInt(1 << 20) : 16;
            kind = d == 0 ? "negative offset" : d == 1 ? "end overflows" : "negative length";
        } else if (c == 2 && any != null && any.mode != File.O_WRONLY && !any.dir) {
            File g = any.f;
            int off = r.nextBoolean() ? -1 : 20;
            h.call(k, "readInto", false, any + " (buffer [" + off + ", +16) of 24)", () -> {
                vfs.read(g, 0, r.nextBoolean() ? null : new byte[24], off, 16);
                return Res.SUCCESS;
            });
            return;
        } else {
            f = badFile();
            kind = "closed, none or another mount's";
        }
        File ff = f;
        long p = pos;
        int l = len;
        h.call(k, "pread", false, ff + ", " + p + ", " + l + " (" + kind + ")", () -> {
            vfs.read(ff, p, l);
            return Res.SUCCESS;
        });
    }

    void seek() {
        Handle x = open.isEmpty() ? null : pick(open);
        if (x == null) {
            return;
        }
        boolean valid = valid() && x.fpos < Long.MAX_VALUE - (2 << 20);
        long off;
        int whence;
        if (valid) {
            whence = r.nextInt(3);
            off = whence == Vfs.SEEK_SET ? r.nextInt(1 << 20) : whence == Vfs.SEEK_CUR ? r.nextInt(1 << 20) : 0;
        } else if (r.nextBoolean()) {
            whence = 3 + r.nextInt(9);
            off = 0;
        } else {
            whence = Vfs.SEEK_SET;
            off = -1 - r.nextInt(1 << 20);
        }
        long o = off;
        int wh = whence;
        h.call(k, "lseek", valid, x + ", " + o + ", " + wh, () -> {
            x.fpos = vfs.lseek(x.f, o, wh);
            if (!x.dir && x.mode != File.O_WRONLY && x.fpos <= Long.MAX_VALUE - 64) {
                x.fpos += vfs.read(x.f, 64).length;
            }
            return Res.SUCCESS;
        });
    }

    void fsync() {
        Handle x = valid() ? pickHandle(false) : null;
        if (x != null) {
            h.call(k, "fsync", true, x.toString(), () -> {
                vfs.fsync(x.f);
                return Res.SUCCESS;
            });
            return;
        }
        File f = badFile();
        Handle d = null;
        for (Handle y : open) {
            if (y.dir) {
                d = y;
                break;
            }
        }
        File ff = f == null && d != null && r.nextBoolean() ? d.f : f;
        h.call(k, "fsync", false, ff + " (closed, none, another mount's or a directory)", () -> {
            vfs.fsync(ff);
            return Res.SUCCESS;
        });
    }

    /** A stable file: created, written whole and fsynced while nothing is injected; only read afterwards. */
    void stableFile() {
        if (state.injecting || stable.size() >= MAX_STABLE) {
            return;
        }
        String path = "/stable" + state.stableSeq++;
        byte[] content = new byte[1 + r.nextInt(96 << 10)];
        r.nextBytes(content);
        h.call(k, "create+write+fsync", true, path + ", " + content.length, () -> {
            File f = vfs.create("/", path.substring(1));
            try {
                if (vfs.write(f, 0, content) != content.length) {
                    scratch.put(path, (long) content.length);
                    return Res.ERROR;
                }
                vfs.fsync(f);
                stable.put(path, content);
            } catch (RuntimeException e) {
                scratch.put(path, (long) content.length);
                throw e;
            } finally {
                vfs.close(f);
            }
            return Res.SUCCESS;
        });
    }

    /** file_operations called directly, as the loop driver calls them, with arguments they must refuse. */
    void fileOps() {
        Handle x = pickHandle(false);
        if (x == null) {
            return;
        }
        Inode inode = x.f.inode();
        int c = r.nextInt(5);
        switch (c) {
            case 0:
                h.call(k, "readIter", false, x + ", -1 (negative offset)", () -> xfs.sb().fileOps()
                        .readIter(inode, x.f.ra(), -1, IovIter.ofArray(new byte[8], 0), 8) < 0 ? Res.ERROR : Res.SUCCESS);
                break;
            case 1:
                h.call(k, "readIter", false, x + " (null iov_iter)", () -> {
                    xfs.sb().fileOps().readIter(inode, x.f.ra(), 0, null, 8);
                    return Res.SUCCESS;
                });
                break;
            case 2:
                h.call(k, "fsync", false, "the root directory's inode", () ->
                        xfs.sb().fileOps().fsync(xfs.sb().root().inode()) < 0 ? Res.ERROR : Res.SUCCESS);
                break;
            case 3:
                h.call(k, "fsync", false, x + " on another mount", () ->
                        other.sb().fileOps().fsync(inode) < 0 ? Res.ERROR : Res.SUCCESS);
                break;
            default:
                h.call(k, "writeIter", false, x + ", len -1", () -> xfs.sb().fileOps()
                        .writeIter(inode, 0, IovIter.ofArray(new byte[8], 0), -1) < 0 ? Res.ERROR : Res.SUCCESS);
        }
    }

    void dropCaches() {
        boolean nofs = r.nextBoolean();
        h.call(k, "super_cache_scan", true, nofs ? "GFP_NOFS" : "GFP_KERNEL", () -> {
            ShrinkControl sc = new ShrinkControl(nofs ? Gfp.GFP_NOFS : Gfp.GFP_KERNEL);
            sc.nrToScan = 1 + r.nextInt(1000);
            xfs.sb().shrinker().scanObjects(sc);
            return Res.SUCCESS;
        });
    }

    void sync() {
        h.call(k, "sync", true, xfs.toString(), () -> {
            vfs.sync();
            return Res.SUCCESS;
        });
    }
}
