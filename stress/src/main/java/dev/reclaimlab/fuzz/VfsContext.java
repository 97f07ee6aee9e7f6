package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.fs.Vfs;
import dev.reclaimlab.fs.xfs.Xfs;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The VFS fuzz's model: an XFS on a RAM disk and a second, small one whose files are "another mount's";
 * every directory, scratch file, stable file and open file the fuzz made. Stable files are written and
 * fsynced while no fault is injected and never written again. Every group of operations shares one model.
 */
abstract class VfsContext {
    static final int MAX_OPEN = 48;
    static final int MAX_STABLE = 12;
    static final int MAX_FILES = 200;
    static final String[] BAD_NAMES = {"", ".", "..", "a/b", "/", "x".repeat(Vfs.NAME_MAX + 1)};

    /** What the model counts and whether faults are being injected; shared by every group. */
    static final class State {
        int seq;
        int stableSeq;
        boolean injecting;
    }

    final Harness h;
    final SplittableRandom r;
    final Kernel k;
    final RamDisk ram;
    final Xfs xfs;
    final Vfs vfs;
    final Xfs other;
    final File foreign;
    final TreeSet<String> dirs;
    /** Scratch files: path -> the largest offset written (for choosing reads). */
    final TreeMap<String, Long> scratch;
    final TreeMap<String, byte[]> stable;
    final List<Handle> open;
    final List<File> closed;
    final State state;

    /** The model, made once by {@link VfsFuzz}: both filesystems mounted. */
    VfsContext(Harness h, SplittableRandom r, Kernel k) {
        this.h = h;
        this.r = r;
        this.k = k;
        this.ram = new RamDisk(k, 0, 48L << 20);
        this.xfs = Xfs.mount(k, ram);
        this.vfs = xfs.vfs();
        this.other = Xfs.mount(k, new RamDisk(k, 2, 4L << 20));
        this.foreign = other.vfs().create("/", "elsewhere");
        this.dirs = new TreeSet<>();
        this.scratch = new TreeMap<>();
        this.stable = new TreeMap<>();
        this.open = new ArrayList<>();
        this.closed = new ArrayList<>();
        this.state = new State();
        dirs.add("/");
    }

    /** A group of operations working on the same model. */
    VfsContext(VfsContext c) {
        this.h = c.h;
        this.r = c.r;
        this.k = c.k;
        this.ram = c.ram;
        this.xfs = c.xfs;
        this.vfs = c.vfs;
        this.other = c.other;
        this.foreign = c.foreign;
        this.dirs = c.dirs;
        this.scratch = c.scratch;
        this.stable = c.stable;
        this.open = c.open;
        this.closed = c.closed;
        this.state = c.state;
    }

    boolean valid() {
        return r.nextInt(100) < 70;
    }

    <T> T pick(List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    String pickDir() {
        int i = r.nextInt(dirs.size());
        return dirs.stream().skip(i).findFirst().orElse("/");
    }

    static String join(String dir, String name) {
        return dir.equals("/") ? "/" + name : dir + "/" + name;
    }

    String freshName() {
        return "n" + (state.seq++);
    }

    boolean exists(String path) {
        return dirs.contains(path) || scratch.containsKey(path) || stable.containsKey(path);
    }

    /** A path the fuzz knows names nothing, or is not a path at all. */
    String badPath() {
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

    File badFile() {
        switch (r.nextInt(3)) {
            case 0:
                return closed.isEmpty() ? null : pick(closed);
            case 1:
                return foreign;
            default:
                return null;
        }
    }

    void addOpen(File f, String path, int mode) {
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

    void retire(File f) {
        closed.add(f);
        if (closed.size() > 32) {
            closed.remove(0);
        }
    }

    boolean isEmptyDir(String dir) {
        String prefix = dir + "/";
        for (String d : dirs) {
            if (d.startsWith(prefix)) {
                return false;
            }
        }
        return scratch.ceilingKey(prefix) == null || !scratch.ceilingKey(prefix).startsWith(prefix)
                ? stable.ceilingKey(prefix) == null || !stable.ceilingKey(prefix).startsWith(prefix) : false;
    }

    List<String> childrenOf(String dir) {
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

    Handle pickHandle(boolean write) {
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

    long offset() {
        int c = r.nextInt(100);
        return c < 70 ? r.nextInt(256 << 10) : c < 90 ? r.nextInt(4 << 20) : c < 97 ? r.nextLong(1L << 40)
                : Long.MAX_VALUE - r.nextInt(1 << 16) - (64 << 10);
    }
}
