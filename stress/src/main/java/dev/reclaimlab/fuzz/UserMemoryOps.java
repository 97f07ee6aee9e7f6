package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Memory22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.UserFault;
import dev.reclaimlab.swap.Vma;

import java.util.Arrays;
import java.util.List;

/**
 * The 2.2 fuzz's operations on user memory: mmap() of anonymous memory and shared and private (MAP_PRIVATE,
 * copy on write) mappings of ext2 files, munmap(), the process reading and writing its memory, accesses beyond
 * the end of a mapped file (SIGBUS for a shared mapping, zeros in the last page), a peer process mapping the
 * same files, copy_from_user() and copy_to_user() with good and bad user and kernel addresses, lengths and
 * processes, and update_vm_cache() with bad sources.
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
        boolean priv = file && r.nextBoolean();
        File22Model f = file ? pickFile() : null;
        if (file && (f == null || f.data.length == 0 && !priv)) {
            return;
        }
        while (maps.size() >= MAX_MAPS || (!file && state.anonPages > MAX_ANON_PAGES)) {
            if (maps.isEmpty()) {
                return;
            }
            munmapOne(maps.get(0));
        }
        int filePages = file ? (f.data.length + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE : 0;
        boolean far = priv && r.nextInt(8) == 0;
        // A private mapping may start and run beyond the end of the file: those pages read zeros, as 2.2's do.
        long off = far ? ((long) (1 << 20) - 1 - r.nextInt(1 << 19)) << PhysMem.PAGE_SHIFT
                : file ? ((long) r.nextInt(filePages + (priv ? 2 : 0) + (filePages == 0 ? 1 : 0))) << PhysMem.PAGE_SHIFT
                : 0;
        long len = far ? 1 + r.nextInt(16 * PhysMem.PAGE_SIZE)
                : file ? 1 + r.nextInt((int) Math.max(PhysMem.PAGE_SIZE, Math.min(f.data.length - off
                        + (priv ? 4 : 1) * PhysMem.PAGE_SIZE, 1 << 20)))
                : 1 + r.nextInt(r.nextBoolean() ? 4 << 20 : 64 << 10);
        if (far && off + len + PhysMem.PAGE_SIZE > 1L << 32) {
            return;
        }
        boolean scratch = !file && pickScratch() == null;
        call(priv ? "mmap private" : file ? "mmap shared" : "mmap anon", true, (file ? f + ", " : "") + len + ", "
                + off, () -> {
                    Vma v = mem().mmap(p(), len, file ? f.f : null, off, file && !priv);
                    int pages = v.nrPages();
                    maps.add(new Map22(v, file ? null : new byte[(int) Math.min(len, (long) pages
                            << PhysMem.PAGE_SHIFT)], f, scratch, priv));
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
        int c = r.nextInt(7);
        // Bad lengths and offsets with anonymous memory, or a file mapped shared or private.
        File22Model withFile = f != null && r.nextBoolean() ? f : null;
        boolean shared = withFile != null && r.nextBoolean();
        long len = c == 0 ? -r.nextInt(1 << 20) : c == 1 ? Long.MAX_VALUE - r.nextInt(1 << 12)
                : c == 2 ? 1L << 34 + r.nextInt(8) : c == 6 ? PhysMem.PAGE_SIZE * (2L + r.nextInt(16)) : 4096;
        long off = c == 3 ? 1 + r.nextInt(PhysMem.PAGE_SIZE - 1)
                : c == 4 ? (r.nextBoolean() ? -PhysMem.PAGE_SIZE * (1L + r.nextInt(8)) : Long.MIN_VALUE)
                : c == 6 ? (r.nextBoolean() ? (1L << 32) - PhysMem.PAGE_SIZE * (1L + r.nextInt(1))
                        : (Long.MAX_VALUE & -PhysMem.PAGE_SIZE) - PhysMem.PAGE_SIZE * r.nextInt(4)) : 0;
        if (c == 6 && withFile == null) {
            withFile = f;
        }
        File22Model use = c == 5 && r.nextBoolean() && !released.isEmpty() ? pick(released) : c == 5 ? null
                : withFile;
        boolean sh = c == 5 ? use != null : shared && use != null;
        boolean notCurrent = c == 5 && use == null;
        if (c == 6 && use == null) {
            return;
        }
        String kind = c == 0 ? "length <= 0" : c == 1 ? "length past the address space" : c == 2 ? "length beyond 3 GiB"
                : c == 3 ? "unaligned offset" : c == 4 ? "negative offset"
                : c == 6 ? "offset + length past 2.2's vm_offset"
                : use != null ? "released file" : "not the current process";
        String what = use == null ? "anon" : (sh ? "shared " : "private ") + use;
        call("mmap", false, what + ", " + len + ", " + off + " (" + kind + ")", () -> {
            Process22 who = notCurrent ? other : p();
            Vma v = mem().mmap(who, len, use == null ? null : use.f, off, sh);
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
                    if (noCopy(e)) {
                        return Res.ERROR;
                    }
                    if (m.file != null && !m.priv()) {
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
                if (!matches(m, from, got)) {
                    throw new Harness.Corrupt("user memory read back wrong at " + m + " +" + from + ": "
                            + firstDiff(m, from, got));
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
        } else if (c == 1 && m != null && !m.priv() && m.len() == (long) m.v.nrPages() << PhysMem.PAGE_SHIFT) {
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

    /**
     * A write fault on a private mapping found no page for its copy: 2.2's filemap_nopage() returns 0 and the
     * process gets SIGBUS, which ends it; the fuzz lets it exit and starts the next.
     */
    private boolean noCopy(UserFault e) {
        if ("SIGBUS".equals(e.signal()) && e.getMessage() != null && e.getMessage().contains("private copy")) {
            state.fatal = e.getMessage();
            return true;
        }
        return false;
    }

    /**
     * A shared mapping beyond the end of its file: a page wholly beyond it is SIGBUS (filemap_nopage()'s
     * no_page for VM_SHARED; so also after a truncate has zapped it), and the part of the last page beyond the
     * end reads zeros. The file keeps its size and bytes.
     */
    void beyondEof() {
        Map22 m = null;
        boolean peer = r.nextBoolean();
        List<Map22> from0 = peer ? peerMaps : maps;
        for (int i = 0; i < 8 && !from0.isEmpty() && m == null; i++) {
            Map22 c = pick(from0);
            if (c.file != null && !c.priv() && !c.file.unknown) {
                m = c;
            }
        }
        if (m == null) {
            return;
        }
        Map22 map = m;
        Process22 who = peer ? state.peer : p();
        long size = map.file.data.length;
        long inMap = Math.max(0, size - map.v.offset());
        int firstBeyond = (int) Math.min(map.v.nrPages(), (inMap + PhysMem.PAGE_SIZE - 1) >>> PhysMem.PAGE_SHIFT);
        long span = (long) map.v.nrPages() << PhysMem.PAGE_SHIFT;
        if (r.nextBoolean() && firstBeyond < map.v.nrPages()) {
            long from = ((long) firstBeyond << PhysMem.PAGE_SHIFT) + r.nextLong(span - ((long) firstBeyond
                    << PhysMem.PAGE_SHIFT));
            int len = (int) Math.min(span - from, 1 + r.nextInt(64));
            boolean write = r.nextBoolean();
            byte[] buf = new byte[len];
            r.nextBytes(buf);
            String who0 = peer ? "peer " : "";
            as(peer, write ? "writeUser" : "readUser", true, who0 + map + " +" + from + ", " + len
                    + " (beyond the end of "
                    + map.file + ", " + size + " bytes: SIGBUS)", () -> {
                        try {
                            if (write) {
                                mem().writeUser(who, map.v.start() + from, buf, 0, len);
                            } else {
                                mem().readUser(who, map.v.start() + from, buf, 0, len);
                            }
                        } catch (UserFault e) {
                            if ("SIGBUS".equals(e.signal())) {
                                return Res.SUCCESS;
                            }
                            throw e;
                        }
                        throw new Harness.Corrupt("no SIGBUS for " + map + " +" + from + ", beyond the end of "
                                + map.file + " (" + size + " bytes)");
                    });
            return;
        }
        if (inMap == 0 || inMap >= span || (inMap & (PhysMem.PAGE_SIZE - 1)) == 0) {
            return;
        }
        int len = (int) (PhysMem.PAGE_SIZE - (inMap & (PhysMem.PAGE_SIZE - 1)));
        as(peer, "readUser", true, (peer ? "peer " : "") + map + " +" + inMap + ", " + len
                + " (the last page beyond the end of " + map.file
                + ": zeros)", () -> {
                    byte[] got = new byte[len];
                    mem().readUser(who, map.v.start() + inMap, got, 0, len);
                    for (byte b : got) {
                        if (b != 0) {
                            throw new Harness.Corrupt("old bytes beyond the end of " + map.file + " through " + map);
                        }
                    }
                    return Res.SUCCESS;
                });
    }

    private Outcome as(boolean peer, String op, boolean valid, String args, Harness.Action a) {
        return peer ? callPeer(op, valid, args, a) : call(op, valid, args, a);
    }

    /**
     * The peer process maps a file shared or private, unmaps one, or reads or writes its mappings: its shared
     * writes reach the file's shadow, its private ones its own copies; the fuzz's ftruncate() zaps them as it
     * zaps the fuzz's process's own (vmtruncate() walks i_mmap, whichever process a mapping is in).
     */
    void peer() {
        int c = r.nextInt(10);
        if (c == 0 || peerMaps.isEmpty()) {
            File22Model f = pickFile();
            if (f == null) {
                return;
            }
            if (peerMaps.size() >= 8) {
                peerMunmap(peerMaps.get(0));
            }
            boolean priv = r.nextBoolean() || f.data.length == 0;
            int filePages = (f.data.length + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE;
            long off = (long) r.nextInt(Math.max(1, filePages)) << PhysMem.PAGE_SHIFT;
            long len = 1 + r.nextInt((int) Math.max(PhysMem.PAGE_SIZE, Math.min(f.data.length - off
                    + 2L * PhysMem.PAGE_SIZE, 256 << 10)));
            callPeer(priv ? "peer mmap private" : "peer mmap shared", true, f + ", " + len + ", " + off, () -> {
                Vma v = mem().mmap(state.peer, len, f.f, off, !priv);
                peerMaps.add(new Map22(v, null, f, false, priv));
                f.maps++;
                return Res.SUCCESS;
            });
            return;
        }
        Map22 m = pick(peerMaps);
        if (c == 1) {
            peerMunmap(m);
            return;
        }
        if (m.len() <= 0) {
            return;
        }
        long from = r.nextLong(m.len());
        int len = (int) Math.min(m.len() - from, 1 + r.nextInt(r.nextBoolean() ? 64 : 2 * PhysMem.PAGE_SIZE));
        if (c < 6) {
            callPeer("peer readUser", true, m + " +" + from + ", " + len, () -> {
                byte[] got = new byte[len];
                mem().readUser(state.peer, m.v.start() + from, got, 0, len);
                if (!matches(m, from, got)) {
                    throw new Harness.Corrupt("peer's memory read back wrong at " + m + " +" + from + ": "
                            + firstDiff(m, from, got));
                }
                return Res.SUCCESS;
            });
            return;
        }
        byte[] src = new byte[len];
        r.nextBytes(src);
        callPeer("peer writeUser", true, m + " +" + from + ", " + len, () -> {
            try {
                mem().writeUser(state.peer, m.v.start() + from, src, 0, len);
            } catch (UserFault e) {
                if ("SIGBUS".equals(e.signal()) && e.getMessage() != null && e.getMessage().contains("private copy")) {
                    state.peerFatal = e.getMessage();
                    return Res.ERROR;
                }
                if (!m.priv()) {
                    m.file.unknown = true;
                }
                throw e;
            }
            store(m, from, src, 0, len);
            return Res.SUCCESS;
        });
    }

    void peerMunmap(Map22 m) {
        peerMaps.remove(m);
        m.file.maps--;
        callPeer("peer munmap", true, m.toString(), () -> {
            mem().munmap(state.peer, m.v);
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
                if (!matches(m, from, got)) {
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
