package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Inode;
import dev.reclaimlab.fs.IovIter;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The VFS and XFS half of the fuzz: an XFS on a RAM disk, and a second, small one whose files are "another
 * mount's". The model knows every directory, file and open file. Stable files are written and fsynced
 * while no fault is injected and never written again: every successful read of one must return its bytes
 * exactly, and at the end they are read back from the device. Scratch files take any write.
 */
final class VfsFuzz {
    private static final int MAX_OPEN = 48;
    private static final int MAX_STABLE = 12;
    private static final int MAX_FILES = 200;
    private static final String[] BAD_NAMES = {"", ".", "..", "a/b", "/", "x".repeat(Vfs.NAME_MAX + 1)};

    /** An open file the fuzz holds. */
    static final class Handle {
        final File f;
        final String path;
        final int mode;
        /** Opened on a directory (which may have been removed since). */
        final boolean dir;
        /** f_pos as the fuzz moved it. */
        long fpos;

        Handle(File f, String path, int mode, boolean dir) {
            this.f = f;
            this.path = path;
            this.mode = mode;
            this.dir = dir;
        }

        @Override
        public String toString() {
            return path + (mode == File.O_RDONLY ? " ro" : mode == File.O_WRONLY ? " wo" : " rw");
        }
    }

    private final Harness h;
    private final SplittableRandom r;
    private final Kernel k;
    private final RamDisk ram;
    private final Xfs xfs;
    private final Vfs vfs;
    private final Xfs other;
    private final File foreign;

    private final TreeSet<String> dirs = new TreeSet<>();
    /** Scratch files: path -> the largest offset written (for choosing reads). */
    private final TreeMap<String, Long> scratch = new TreeMap<>();
    private final TreeMap<String, byte[]> stable = new TreeMap<>();
    private final List<Handle> open = new ArrayList<>();
    private final List<File> closed = new ArrayList<>();
    private int seq;
    private int stableSeq;
    boolean injecting;

    VfsFuzz(Harness h, SplittableRandom r, Kernel k) {
        this.h = h;
        this.r = r;
        this.k = k;
        this.ram = new RamDisk(k, 0, 48L << 20);
        this.xfs = Xfs.mount(k, ram);
        this.vfs = xfs.vfs();
        this.other = Xfs.mount(k, new RamDisk(k, 2, 4L << 20));
        this.foreign = other.vfs().create("/", "elsewhere");
        dirs.add("/");
    }

    RamDisk ram() {
        return ram;
    }

    // ---------------------------------------------------------------- dispatch

    void step() {
        int w = r.nextInt(100);
        if (w < 8) {
            create();
        } else if (w < 11) {
            mkdirRmdir();
        } else if (w < 19) {
            open();
        } else if (w < 26) {
            close();
        } else if (w < 44) {
            write();
        } else if (w < 66) {
            read();
        } else if (w < 70) {
            seek();
        } else if (w < 75) {
            fsync();
        } else if (w < 80) {
            unlink();
        } else if (w < 84) {
            readdir();
        } else if (w < 88) {
            stableFile();
        } else if (w < 92) {
            fileOps();
        } else if (w < 99) {
            dropCaches();
        } else {
            sync();
        }
    }

    private boolean valid() {
        return r.nextInt(100) < 70;
    }

    private <T> T pick(List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    private String pickDir() {
        int i = r.nextInt(dirs.size());
        return dirs.stream().skip(i).findFirst().orElse("/");
    }

    private static String join(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    private String freshName() {
        return "n" + (seq++);
    }

    private boolean exists(String path) {
        return dirs.contains(path) || scratch.containsKey(path) || stable.containsKey(path);
    }

    /** A path the fuzz knows names nothing, or is not a path at all. */
    private String badPath() {
        switch (r.nextInt(5)) {
            case 0:
                return null;
            case 1:
                return "relative/" + freshName();
            case 2:
                return join(pickDir(), freshName());
            case 3:
                return scratch.isEmpty() ? "/nosuch" : scratch.firstKey() + "/below-a-file";
            default:
                return "";
        }
    }

    private File badFile() {
        switch (r.nextInt(3)) {
            case 0:
                return closed.isEmpty() ? null : pick(closed);
            case 1:
                return foreign;
            default:
                return null;
        }
    }

    private void addOpen(File f, String path, int mode) {
        open.add(new Handle(f, path, mode, f.inode().isDir()));
        while (open.size() > MAX_OPEN) {
            Handle x = open.remove(0);
            h.call(k, "close", true, x.toString(), () -> {
                vfs.close(x.f);
                retire(x.f);
                return Res.SUCCESS;
            });
        }
    }

    private void retire(File f) {
        closed.add(f);
        if (closed.size() > 32) {
            closed.remove(0);
        }
    }

    // ---------------------------------------------------------------- names

    private void create() {
        String dir = pickDir();
        if (valid() && scratch.size() < MAX_FILES) {
            String name = freshName();
            boolean at = r.nextBoolean();
            Handle dh = null;
            if (at) {
                for (Handle x : open) {
                    if (x.dir && x.path.equals(dir) && dirs.contains(x.path)) {
                        dh = x;
                        break;
                    }
                }
            }
            Handle d = dh;
            h.call(k, d != null ? "createAt" : "create", true, dir + ", " + name, () -> {
                File f = d != null ? vfs.create(d.f, name) : vfs.create(dir, name);
                scratch.put(join(dir, name), 0L);
                addOpen(f, join(dir, name), File.O_RDWR);
                return Res.SUCCESS;
            });
            return;
        }
        String d2;
        String name;
        String kind;
        int c = r.nextInt(5);
        if (c == 0) {
            d2 = dir;
            name = BAD_NAMES[r.nextInt(BAD_NAMES.length)];
            kind = "bad name";
        } else if (c == 1) {
            d2 = dir;
            name = null;
            kind = "null name";
        } else if (c == 2 && !scratch.isEmpty()) {
            String path = scratch.lastKey();
            int slash = path.lastIndexOf('/');
            d2 = slash == 0 ? "/" : path.substring(0, slash);
            name = path.substring(slash + 1);
            kind = "exists";
        } else if (c == 3 && !open.isEmpty()) {
            Handle x = pick(open);
            if (x.dir) {
                return;
            }
            h.call(k, "createAt", false, x + ", n (not a directory)", () -> {
                vfs.create(x.f, freshName());
                return Res.SUCCESS;
            });
            return;
        } else {
            d2 = badPath();
            name = freshName();
            kind = "no such directory";
        }
        h.call(k, "create", false, d2 + ", " + name + " (" + kind + ")", () -> {
            vfs.create(d2, name);
            return Res.SUCCESS;
        });
    }

    private void mkdirRmdir() {
        if (r.nextBoolean()) {
            String dir = pickDir();
            boolean valid = valid() && dirs.size() < 16 && dir.chars().filter(c -> c == '/').count() < 3;
            String name = valid ? freshName() : BAD_NAMES[r.nextInt(BAD_NAMES.length)];
            h.call(k, "mkdir", valid, dir + ", " + name, () -> {
                File f = vfs.mkdir(dir, name);
                dirs.add(join(dir, name));
                addOpen(f, join(dir, name), File.O_RDONLY);
                return Res.SUCCESS;
            });
            return;
        }
        String dir = pickDir();
        boolean empty = !dir.equals("/") && isEmptyDir(dir);
        if (empty && valid()) {
            int slash = dir.lastIndexOf('/');
            String parent = slash == 0 ? "/" : dir.substring(0, slash);
            String name = dir.substring(slash + 1);
            h.call(k, "rmdir", true, parent + ", " + name, () -> {
                vfs.rmdir(parent, name);
                dirs.remove(dir);
                return Res.SUCCESS;
            });
            return;
        }
        String target;
        String kind;
        if (!dir.equals("/") && !empty) {
            target = dir;
            kind = "not empty";
        } else if (!scratch.isEmpty()) {
            target = scratch.firstKey();
            kind = "not a directory";
        } else {
            target = join("/", freshName());
            kind = "no such directory";
        }
        int slash = target.lastIndexOf('/');
        String parent = slash == 0 ? "/" : target.substring(0, slash);
        String name = target.substring(slash + 1);
        h.call(k, "rmdir", false, parent + ", " + name + " (" + kind + ")", () -> {
            vfs.rmdir(parent, name);
            return Res.SUCCESS;
        });
    }

    private boolean isEmptyDir(String dir) {
        String prefix = dir + "/";
        for (String d : dirs) {
            if (d.startsWith(prefix)) {
                return false;
            }
        }
        return scratch.ceilingKey(prefix) == null || !scratch.ceilingKey(prefix).startsWith(prefix)
                ? stable.ceilingKey(prefix) == null || !stable.ceilingKey(prefix).startsWith(prefix) : false;
    }

    private void open() {
        List<String> files = new ArrayList<>(scratch.keySet());
        files.addAll(stable.keySet());
        if (valid() && !files.isEmpty()) {
            boolean dir = r.nextInt(6) == 0;
            String path = dir ? pickDir() : pick(files);
            int mode = dir || stable.containsKey(path) ? File.O_RDONLY
                    : new int[] {File.O_RDONLY, File.O_WRONLY, File.O_RDWR}[r.nextInt(3)];
            boolean flags = dir || r.nextBoolean();
            h.call(k, "open", true, path + (flags ? ", " + mode : ""), () -> {
                File f = flags ? vfs.open(path, mode) : vfs.open(path);
                addOpen(f, path, flags ? mode : dirs.contains(path) ? File.O_RDONLY : File.O_RDWR);
                return Res.SUCCESS;
            });
            return;
        }
        int c = r.nextInt(3);
        String path;
        int flags;
        if (c == 0) {
            path = dirs.size() > 1 && r.nextBoolean() ? dirs.last() : "/";
            flags = r.nextBoolean() ? File.O_RDWR : File.O_WRONLY;
        } else if (c == 1 && !files.isEmpty()) {
            path = pick(files);
            flags = new int[] {3, 0100, -1, 1 << 20}[r.nextInt(4)];
        } else {
            path = badPath();
            flags = File.O_RDONLY;
        }
        h.call(k, "open", false, path + ", " + flags, () -> {
            vfs.open(path, flags);
            return Res.SUCCESS;
        });
    }

    private void close() {
        if (valid() && !open.isEmpty()) {
            Handle x = open.remove(r.nextInt(open.size()));
            h.call(k, "close", true, x.toString(), () -> {
                vfs.close(x.f);
                retire(x.f);
                return Res.SUCCESS;
            });
            return;
        }
        File f = badFile();
        h.call(k, "close", false, f + " (closed, none or another mount's)", () -> {
            vfs.close(f);
            return Res.SUCCESS;
        });
    }

    // ---------------------------------------------------------------- data

    private Handle pickHandle(boolean write) {
        for (int i = 0; i < 8 && !open.isEmpty(); i++) {
            Handle x = pick(open);
            boolean file = scratch.containsKey(x.path) || stable.containsKey(x.path);
            if (!file || x.dir) {
                continue;
            }
            if (write && (x.mode == File.O_RDONLY || !scratch.containsKey(x.path))) {
                continue;
            }
            if (!write && x.mode == File.O_WRONLY) {
                continue;
            }
            return x;
        }
        return null;
    }

    private long offset() {
        int c = r.nextInt(100);
        return c < 70 ? r.nextInt(256 << 10) : c < 90 ? r.nextInt(4 << 20) : c < 97 ? r.nextLong(1L << 40)
                : Long.MAX_VALUE - r.nextInt(1 << 16) - (64 << 10);
    }

    private void write() {
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

    private void read() {
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

    private void seek() {
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

    private void fsync() {
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

    private void unlink() {
        if (valid() && !scratch.isEmpty()) {
            String path = r.nextBoolean() ? scratch.firstKey() : scratch.lastKey();
            int slash = path.lastIndexOf('/');
            String dir = slash == 0 ? "/" : path.substring(0, slash);
            String name = path.substring(slash + 1);
            h.call(k, "unlink", true, dir + ", " + name, () -> {
                vfs.unlink(dir, name);
                scratch.remove(path);
                return Res.SUCCESS;
            });
            return;
        }
        String dir = pickDir();
        String name;
        String kind;
        int c = r.nextInt(3);
        if (c == 0) {
            name = BAD_NAMES[r.nextInt(BAD_NAMES.length)];
            kind = "bad name";
        } else if (c == 1 && dirs.size() > 1) {
            String sub = dirs.last();
            int slash = sub.lastIndexOf('/');
            dir = slash == 0 ? "/" : sub.substring(0, slash);
            name = sub.substring(slash + 1);
            kind = "a directory";
        } else {
            name = freshName();
            kind = "no such file";
        }
        String d = dir;
        h.call(k, "unlink", false, d + ", " + name + " (" + kind + ")", () -> {
            vfs.unlink(d, name);
            return Res.SUCCESS;
        });
    }

    private void readdir() {
        if (valid()) {
            String dir = pickDir();
            h.call(k, "readdir", true, dir, () -> {
                List<String> got = vfs.readdir(dir);
                List<String> want = childrenOf(dir);
                if (!got.equals(want)) {
                    throw new Harness.Corrupt("readdir(" + dir + ") = " + got + ", the model has " + want);
                }
                return Res.SUCCESS;
            });
            return;
        }
        String path = r.nextBoolean() || scratch.isEmpty() ? badPath() : scratch.firstKey();
        h.call(k, "readdir", false, path, () -> {
            vfs.readdir(path);
            return Res.SUCCESS;
        });
    }

    private List<String> childrenOf(String dir) {
        String prefix = dir.equals("/") ? "/" : dir + "/";
        TreeSet<String> names = new TreeSet<>();
        for (java.util.Collection<String> c : List.of(dirs, scratch.keySet(), stable.keySet())) {
            for (String p : c) {
                if (p.startsWith(prefix) && p.length() > prefix.length() && p.indexOf('/', prefix.length()) < 0) {
                    names.add(p.substring(prefix.length()));
                }
            }
        }
        return new ArrayList<>(names);
    }

    /** A stable file: created, written whole and fsynced while nothing is injected; only read afterwards. */
    private void stableFile() {
        if (injecting || stable.size() >= MAX_STABLE) {
            return;
        }
        String path = "/stable" + stableSeq++;
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
    private void fileOps() {
        Handle x = pickHandle(false);
        if (x == null) {
            return;
        }
        Inode inode = x.f.inode();
        int c = r.nextInt(5);
        switch (c) {
            case 0:
                h.call(k, "readIter", false, x + ", -1 (negative offset)", () -> xfs.sb().fileOps()
                        .readIter(inode, -1, IovIter.ofArray(new byte[8], 0), 8) < 0 ? Res.ERROR : Res.SUCCESS);
                break;
            case 1:
                h.call(k, "readIter", false, x + " (null iov_iter)", () -> {
                    xfs.sb().fileOps().readIter(inode, 0, null, 8);
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

    private void dropCaches() {
        boolean nofs = r.nextBoolean();
        h.call(k, "super_cache_scan", true, nofs ? "GFP_NOFS" : "GFP_KERNEL", () -> {
            ShrinkControl sc = new ShrinkControl(nofs ? Gfp.GFP_NOFS : Gfp.GFP_KERNEL);
            sc.nrToScan = 1 + r.nextInt(1000);
            xfs.sb().shrinker().scanObjects(sc);
            return Res.SUCCESS;
        });
    }

    private void sync() {
        h.call(k, "sync", true, xfs.toString(), () -> {
            vfs.sync();
            return Res.SUCCESS;
        });
    }

    // ---------------------------------------------------------------- the end

    /** Closes everything, reads every stable file back from the device, removes all and unmounts both. */
    void finish(FuzzStats stats) {
        for (Handle x : open) {
            vfs.close(x.f);
        }
        open.clear();
        other.vfs().close(foreign);
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = Long.MAX_VALUE / 4;
        for (int i = 0; i < 4; i++) {
            xfs.sb().shrinker().scanObjects(sc);
        }
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : stable.entrySet()) {
            File f = vfs.open(e.getKey());
            byte[] got = vfs.read(f, 0, e.getValue().length + 10);
            vfs.close(f);
            if (!Arrays.equals(got, e.getValue())) {
                bad.add(e.getKey());
            }
        }
        stats.integrity(bad.isEmpty(), "vfs: " + stable.size() + " stable files read back from the device intact"
                + (bad.isEmpty() ? "" : ", wrong: " + bad));
        for (String p : new ArrayList<>(stable.keySet())) {
            vfs.unlink("/", p.substring(1));
        }
        for (String p : scratch.keySet()) {
            int slash = p.lastIndexOf('/');
            vfs.unlink(slash == 0 ? "/" : p.substring(0, slash), p.substring(slash + 1));
        }
        for (String d : dirs.descendingSet()) {
            if (!d.equals("/")) {
                int slash = d.lastIndexOf('/');
                vfs.rmdir(slash == 0 ? "/" : d.substring(0, slash), d.substring(slash + 1));
            }
        }
        List<String> left = vfs.readdir("/");
        long freeBlocks = xfs.freeBlocks();
        stats.integrity(left.isEmpty() && freeBlocks == xfs.dblocks(), "vfs: every name removed and every block"
                + " freed (" + freeBlocks + " of " + xfs.dblocks() + " free, left: " + left + ")");
        xfs.umount();
        other.umount();
        stats.integrity(true, "vfs: both filesystems unmounted with no busy inode (" + xfs.ioErrors()
                + " data IO errors met on the way)");
    }
}
