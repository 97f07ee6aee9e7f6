package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Memory22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.UserFault;
import dev.reclaimlab.swap.Vma;

import java.util.Arrays;

/**
 * The 2.2 fuzz's operations on user memory: mmap() of anonymous memory and shared mappings of ext2 files,
 * munmap(), the process reading and writing its memory, copy_from_user() and copy_to_user() with good and
 * bad user and kernel addresses, lengths and processes, and update_vm_cache() with bad sources.
 */
final class UserMemoryOps extends Linux22Context {
    UserMemoryOps(Linux22Context c) {
        super(c);
    }

    private Memory22 mem() {
        return mm.memory();
    }

    void mmap() {
        if (!valid()) {
            badMmap();
            return;
        }
        boolean file = r.nextInt(3) == 0;
        File22Model f = file ? pickFile() : null;
        if (file && (f == null || f.data.length == 0)) {
            return;
        }
        while (maps.size() >= MAX_MAPS || (!file && state.anonPages > MAX_ANON_PAGES)) {
            if (maps.isEmpty()) {
                return;
            }
            munmapOne(maps.get(0));
        }
        long off = file ? ((long) r.nextInt((f.data.length + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE))
                << PhysMem.PAGE_SHIFT : 0;
        long len = file ? 1 + r.nextInt((int) Math.min(f.data.length - off + PhysMem.PAGE_SIZE, 1 << 20))
                : 1 + r.nextInt(r.nextBoolean() ? 4 << 20 : 64 << 10);
        boolean scratch = !file && pickScratch() == null;
        call(file ? "mmap shared" : "mmap anon", true, (file ? f + ", " : "") + len + ", " + off, () -> {
            Vma v = mem().mmap(p(), len, file ? f.f : null, off, file);
            int pages = v.nrPages();
            maps.add(new Map22(v, file ? null : new byte[(int) Math.min(len, (long) pages << PhysMem.PAGE_SHIFT)],
                    f, scratch));
            if (file) {
                f.maps++;
            } else {
                state.anonPages += pages;
            }
            return Res.SUCCESS;
        });
    }

    private void badMmap() {
        File22Model f = pickFile();
        int c = r.nextInt(6);
        long len = c == 0 ? -r.nextInt(1 << 20) : c == 1 ? Long.MAX_VALUE - r.nextInt(1 << 12)
                : c == 2 ? 1L << 34 + r.nextInt(8) : 4096;
        long off = c == 3 ? 1 + r.nextInt(PhysMem.PAGE_SIZE - 1)
                : c == 4 ? -PhysMem.PAGE_SIZE * (1L + r.nextInt(8)) : 0;
        boolean shared = c == 5 || (c == 4 && f != null);
        File22Model use = c == 5 && r.nextBoolean() && !released.isEmpty() ? pick(released) : c == 4 ? f : null;
        boolean notCurrent = c == 5 && use == null;
        String kind = c == 0 ? "length <= 0" : c == 1 ? "length past the address space" : c == 2 ? "length beyond 3 GiB"
                : c == 3 ? "unaligned offset" : c == 4 ? "negative offset" : use != null ? "released file"
                : "not the current process";
        call("mmap", false, len + ", " + off + " (" + kind + ")", () -> {
            Process22 who = notCurrent ? other : p();
            Vma v = mem().mmap(who, len, use == null ? null : use.f, off, shared && use != null);
            // Accepted: the mapping goes again at once, so the model never uses it.
            if (!notCurrent) {
                mem().munmap(who, v);
            }
            return Res.SUCCESS;
        });
    }

    void munmap() {
        if (maps.isEmpty()) {
            return;
        }
        Map22 m = pick(maps);
        if (valid()) {
            munmapOne(m);
            return;
        }
        call("munmap", false, m + " (not the current process's)", () -> {
            mem().munmap(other, m.v);
            return Res.SUCCESS;
        });
    }

    void munmapOne(Map22 m) {
        maps.remove(m);
        if (m.file != null) {
            m.file.maps--;
        } else {
            state.anonPages -= m.v.nrPages();
        }
        call("munmap", true, m.toString(), () -> {
            mem().munmap(p(), m.v);
            return Res.SUCCESS;
        });
    }

    /** The process writes its memory: the shadow takes the bytes. */
    void writeUser() {
        Map22 m = valid() ? pickMap(false) : null;
        if (m != null) {
            long from = r.nextLong(m.len());
            int len = (int) Math.min(m.len() - from, 1 + r.nextInt(r.nextBoolean() ? 64 : 3 * PhysMem.PAGE_SIZE));
            byte[] src = new byte[len + 4];
            r.nextBytes(src);
            call("writeUser", true, m + " +" + from + ", " + len, () -> {
                try {
                    mem().writeUser(p(), m.v.start() + from, src, 4, len);
                } catch (UserFault e) {
                    if (m.file != null) {
                        // Killed part-way through a shared mapping: the file's content is no longer known.
                        m.file.unknown = true;
                    }
                    throw e;
                }
                store(m, from, src, 4, len);
                return Res.SUCCESS;
            });
            return;
        }
        badAccess(true);
    }

    /** The process writes the whole of an anonymous mapping: its pages get memory, and some go to swap. */
    void fill() {
        Map22 m = pickMap(true);
        if (m == null) {
            return;
        }
        byte[] src = new byte[m.anon.length];
        r.nextBytes(src);
        call("writeUser", true, m + " whole, " + src.length, () -> {
            mem().writeUser(p(), m.v.start(), src, 0, src.length);
            store(m, 0, src, 0, src.length);
            return Res.SUCCESS;
        });
    }

    /** The process reads its memory: what it reads is what the shadow says. */
    void readUser() {
        Map22 m = valid() ? pickMap(false) : null;
        if (m != null) {
            long from = r.nextLong(m.len());
            int len = (int) Math.min(m.len() - from, 1 + r.nextInt(r.nextBoolean() ? 64 : 3 * PhysMem.PAGE_SIZE));
            call("readUser", true, m + " +" + from + ", " + len, () -> {
                byte[] got = new byte[len];
                mem().readUser(p(), m.v.start() + from, got, 0, len);
                if (!Arrays.equals(got, expected(m, from, len))) {
                    throw new Harness.Corrupt("user memory read back wrong at " + m + " +" + from);
                }
                return Res.SUCCESS;
            });
            return;
        }
        badAccess(false);
    }

    /**
     * A user access the process cannot make: an unmapped or wild address, a negative length, a length that runs
     * off the mapping, or a process that is not current. A write that runs off the end writes the bytes the
     * shadow already holds, so the part the CPU does write changes nothing.
     */
    private void badAccess(boolean write) {
        Map22 m = pickMap(false);
        int c = r.nextInt(4);
        long uaddr;
        int len;
        byte[] buf;
        String kind;
        boolean notCurrent = false;
        if (c == 0 && m != null) {
            uaddr = m.v.start();
            len = r.nextBoolean() ? -1 - r.nextInt(1 << 20) : Integer.MIN_VALUE;
            buf = new byte[16];
            kind = "negative length";
        } else if (c == 1 && m != null && m.len() == (long) m.v.nrPages() << PhysMem.PAGE_SHIFT) {
            long from = r.nextLong(m.len());
            uaddr = m.v.start() + from;
            len = (int) (m.len() - from) + 1 + r.nextInt(PhysMem.PAGE_SIZE);
            buf = new byte[len];
            System.arraycopy(expected(m, from, (int) (m.len() - from)), 0, buf, 0, (int) (m.len() - from));
            kind = "runs off the mapping into the guard page";
        } else if (c == 2 && m != null) {
            uaddr = m.v.start();
            len = 16;
            buf = expected(m, 0, (int) Math.min(16, m.len()));
            len = buf.length;
            notCurrent = true;
            kind = "not the current process";
        } else {
            uaddr = unmappedAddr();
            len = 1 + r.nextInt(PhysMem.PAGE_SIZE);
            buf = new byte[len];
            kind = "unmapped address";
        }
        long ua = uaddr;
        int n = len;
        boolean nc = notCurrent;
        call(write ? "writeUser" : "readUser", false, "0x" + Long.toHexString(ua) + ", " + n + " (" + kind + ")",
                () -> {
                    if (write) {
                        mem().writeUser(nc ? other : p(), ua, buf, 0, n);
                    } else {
                        mem().readUser(nc ? other : p(), ua, buf, 0, n);
                    }
                    return Res.SUCCESS;
                });
    }

    /** copy_from_user() into the fuzz's kernel page, and with bad kernel and user addresses. */
    void copyFromUser() {
        Map22 m = pickMap(false);
        if (valid() && m != null) {
            long from = r.nextLong(m.len());
            int koff = r.nextInt(PhysMem.PAGE_SIZE);
            int len = (int) Math.min(Math.min(m.len() - from, PhysMem.PAGE_SIZE - koff), 1 + r.nextInt(2048));
            call("copyFromUser", true, m + " +" + from + " -> kbuf+" + koff + ", " + len, () -> {
                mem().copyFromUser(p(), kbuf + koff, m.v.start() + from, len);
                byte[] got = new byte[len];
                mm.mem().copyOut(kbuf + koff, got, 0, len);
                if (!Arrays.equals(got, expected(m, from, len))) {
                    throw new Harness.Corrupt("copy_from_user copied wrong bytes from " + m + " +" + from);
                }
                return Res.SUCCESS;
            });
            return;
        }
        int c = r.nextInt(3);
        long kaddr = c == 0 ? badKaddr() : kbuf;
        long uaddr = c == 1 || m == null ? unmappedAddr() : m.v.start();
        int len = c == 2 ? -1 - r.nextInt(4096) : 17 + r.nextInt(64);
        String kind = c == 0 ? "bad kernel address" : c == 1 ? "unmapped user address" : "negative length";
        call("copyFromUser", false, "0x" + Long.toHexString(kaddr) + " <- 0x" + Long.toHexString(uaddr) + ", "
                + len + " (" + kind + ")", () -> copied(mem().copyFromUser(p(), kaddr, uaddr, len), len));
    }

    /** copy_to_user() from the kernel page to the scratch mapping, and with bad addresses and lengths. */
    void copyToUser() {
        Map22 s = pickScratch();
        if (s == null) {
            return;
        }
        long span = (long) s.v.nrPages() << PhysMem.PAGE_SHIFT;
        if (valid()) {
            long to = r.nextLong(span);
            int koff = r.nextInt(PhysMem.PAGE_SIZE);
            int len = (int) Math.min(Math.min(span - to, PhysMem.PAGE_SIZE - koff), 1 + r.nextInt(2048));
            call("copyToUser", true, "kbuf+" + koff + " -> " + s + " +" + to + ", " + len, () -> {
                byte[] want = new byte[len];
                mm.mem().copyOut(kbuf + koff, want, 0, len);
                mem().copyToUser(p(), s.v.start() + to, kbuf + koff, len);
                byte[] got = new byte[len];
                mem().readUser(p(), s.v.start() + to, got, 0, len);
                if (!Arrays.equals(got, want)) {
                    throw new Harness.Corrupt("copy_to_user wrote wrong bytes to " + s + " +" + to);
                }
                return Res.SUCCESS;
            });
            return;
        }
        int c = r.nextInt(4);
        long kaddr = c == 0 ? badKaddr() : kbuf;
        long uaddr = c == 1 ? unmappedAddr() : s.v.start();
        int len = c == 2 ? -1 - r.nextInt(4096) : 17 + r.nextInt(64);
        boolean nc = c == 3;
        String kind = c == 0 ? "bad kernel address" : c == 1 ? "unmapped user address" : c == 2 ? "negative length"
                : "not the current process";
        call("copyToUser", false, "0x" + Long.toHexString(uaddr) + " <- 0x" + Long.toHexString(kaddr) + ", "
                + len + " (" + kind + ")", () -> copied(mem().copyToUser(nc ? other : p(), uaddr, kaddr, len), len));
    }

    /** copy_*_user() returns the bytes it could not copy: all copied is success, any left is the EFAULT path. */
    private static Res copied(int left, int len) {
        return left == 0 ? Res.SUCCESS : Res.ERROR;
    }

    /** update_vm_cache() with a source that is not kernel memory, or a negative count or position. */
    void badUpdateVmCache() {
        File22Model f = pickFile();
        if (f == null) {
            return;
        }
        int c = r.nextInt(3);
        long src = c == 0 ? badKaddr() : kbuf;
        int count = c == 1 ? -1 - r.nextInt(1 << 16) : 17 + r.nextInt(PhysMem.PAGE_SIZE);
        long pos = c == 2 ? -1 - r.nextInt(1 << 20) : r.nextInt(Math.max(1, f.data.length));
        String kind = c == 0 ? "source not kernel memory" : c == 1 ? "negative count" : "negative position";
        call("updateVmCache", false, f + ", " + pos + ", 0x" + Long.toHexString(src) + ", " + count + " (" + kind
                + ")", () -> {
                    mm.pageCache().updateVmCache(f.f.mapping(), pos, src, count);
                    return Res.SUCCESS;
                });
    }
}
