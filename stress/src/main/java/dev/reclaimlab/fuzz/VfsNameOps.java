package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.File;
import dev.reclaimlab.fuzz.Harness.Res;

import java.util.ArrayList;
import java.util.List;

/** The VFS fuzz's operations on names: create, mkdir, rmdir, open, close, unlink and readdir, with bad names and paths, existing names, non-empty directories and closed or foreign files. */
final class VfsNameOps extends VfsContext {
    VfsNameOps(VfsContext c) {
        super(c);
    }

    void create() {
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

    void mkdirRmdir() {
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

    void open() {
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

    void close() {
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

    void unlink() {
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

    /**
     * getdents64() of a directory into a fresh user buffer: valid calls must list exactly the model's names,
     * each once; bad ranges must be EFAULT, a buffer too small for a record EINVAL, a file ENOTDIR.
     */
    void getdents() {
        boolean ok = valid();
        String dir = ok || r.nextBoolean() || scratch.isEmpty() ? pickDir() : scratch.firstKey();
        int size = 1024 + r.nextInt(15 << 10);
        long uoff = ok ? r.nextInt(size - 512) : (r.nextBoolean() ? -1 - r.nextInt(8) : size - r.nextInt(8));
        int count = ok ? (int) Math.min(size - uoff, 512 + r.nextInt(8 << 10)) : 9 + r.nextInt(64);
        String args = dir + ", " + size + "-byte buffer at " + uoff + ", count " + count;
        h.call(k, "getdents64", ok, args, () -> {
            File f = vfs.open(dir);
            try (dev.reclaimlab.mm.UserBuffer buf = new dev.reclaimlab.mm.UserBuffer(k.mm(), size)) {
                List<String> got = new ArrayList<>();
                try {
                    for (int n; (n = vfs.getdents64(f, buf, uoff, count)) > 0; ) {
                        for (dev.reclaimlab.fs.Dirents.Dirent d : dev.reclaimlab.fs.Dirents.parse(buf, uoff, n)) {
                            got.add(d.name());
                        }
                    }
                } catch (dev.reclaimlab.fs.VfsException e) {
                    // A fault that got no page (injected, or memory gone) is VM_FAULT_OOM: EFAULT, documented.
                    if (ok && e.errno() == dev.reclaimlab.kernel.Errno.EFAULT && buf.faultsFailed() > 0) {
                        return Res.ERROR;
                    }
                    throw e;
                }
                List<String> want = childrenOf(dir);
                if (!got.equals(want)) {
                    throw new Harness.Corrupt("getdents64(" + dir + ") = " + got + ", the model has " + want);
                }
            } finally {
                vfs.close(f);
            }
            return Res.SUCCESS;
        });
    }

    void readdir() {
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
}
