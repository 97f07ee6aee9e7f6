package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.block.request.IdeDisk;
import dev.reclaimlab.fs.ext2.Ext2File;
import dev.reclaimlab.fs.ext2.Ext2Fs;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.swap.Mm22;
import dev.reclaimlab.swap.Process22;
import dev.reclaimlab.swap.Vma;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The Linux 2.2 fuzz's model: a kernel booted as 2.2 with a swap partition and an ext2 on IDE disks over RAM
 * disks, the fuzz's own process, a peer process that maps the same files and one that is never current, every
 * mapping with the bytes a shadow knows it holds (a private file mapping: the file's, or its copy once written),
 * every ext2 file with its content, the closed ones, and a kernel page for copy_from_user().
 */
abstract class Linux22Context {
    static final int MAX_MAPS = 24;
    /** Anonymous pages the fuzz keeps mapped at most: more than the kernel's memory, so pages go to swap. */
    static final int MAX_ANON_PAGES = 4500;
    static final int MAX_FILES = 16;
    static final int MAX_FILE_BYTES = 384 << 10;
    static final String[] BAD_NAMES = {null, "", ".", "..", "a/b", "nul\0byte", "x".repeat(256)};

    /**
     * One mapping: its vma and, for anonymous memory, the bytes it holds; a shared file mapping reads its file. A
     * private one (MAP_PRIVATE of a file) reads the file's page until the process writes the page, which then
     * holds the private copy made at that write (2.2's do_wp_page() or filemap_nopage()'s no_share copy); a
     * truncate zaps the copies wholly beyond the new size (the page reads the file again) and leaves the bytes
     * of a straddling copy beyond it loose: partial_clear() zeroes them only if the copy is present.
     */
    static final class Map22 {
        final Vma v;
        final byte[] anon;
        final File22Model file;
        final boolean scratch;
        final byte[][] copies;
        final BitSet[] loose;

        Map22(Vma v, byte[] anon, File22Model file, boolean scratch) {
            this(v, anon, file, scratch, false);
        }

        Map22(Vma v, byte[] anon, File22Model file, boolean scratch, boolean priv) {
            this.v = v;
            this.anon = anon;
            this.file = file;
            this.scratch = scratch;
            this.copies = priv ? new byte[v.nrPages()][] : null;
            this.loose = priv ? new BitSet[v.nrPages()] : null;
        }

        boolean priv() {
            return copies != null;
        }

        long len() {
            if (priv()) {
                return (long) v.nrPages() << PhysMem.PAGE_SHIFT;
            }
            return file != null ? Math.min((long) v.nrPages() << PhysMem.PAGE_SHIFT, file.data.length - v.offset())
                    : anon.length;
        }

        @Override
        public String toString() {
            return v + (scratch ? " scratch" : priv() ? " private" : "");
        }
    }

    /** One ext2 file: its name (null once unlinked), its open file, its content, and how many mappings hold it. */
    static final class File22Model {
        String name;
        final Ext2File f;
        byte[] data = new byte[0];
        int maps;
        boolean closed;
        /** An OOM kill ended a write from user memory part-way: the content is no longer known. */
        boolean unknown;

        File22Model(String name, Ext2File f) {
            this.name = name;
            this.f = f;
        }

        @Override
        public String toString() {
            return f.name() + (name == null ? " (unlinked)" : " " + name);
        }
    }

    /** What the model counts; shared by every group. */
    static final class State {
        int seq;
        int anonPages;
        Process22 p;
        ProcessThread thread;
        int generation;
        int kills;
        /** A signal that ends the process (SIGBUS when no page was left for a private copy), or null. */
        String fatal;
        /** The second process, which maps the same files, so a truncate zaps another process's mappings too. */
        Process22 peer;
        ProcessThread peerThread;
        String peerFatal;
        /** Loose bytes (a truncated private copy's tail) read back as zeros, and with their old value. */
        long looseZeroed;
        long looseKept;
        /** ftruncate() calls that shrank a file some mapping held. */
        int mappedTruncates;
    }

    final Harness h;
    final SplittableRandom r;
    final Kernel k;
    final Mm22 mm;
    final RamDisk swapMedium;
    final RamDisk diskMedium;
    final IdeDisk disk;
    final Ext2Fs fs;
    final long freeBlocksAtMkfs;
    final int swapFreeAtBoot;
    final Process22 other;
    final Task otherTask;
    final long kbuf;
    final int kbufPfn;
    final List<Map22> maps;
    /** The peer process's mappings, all of files. */
    final List<Map22> peerMaps;
    final List<File22Model> files;
    final List<File22Model> released;
    final State state;

    /** The model, made once by {@link Linux22Fuzz}: the kernel booted, swap on, ext2 made. */
    Linux22Context(Harness h, SplittableRandom r, Kernel k) {
        this.h = h;
        this.r = r;
        this.k = k;
        k.currentTask();
        this.mm = Mm22.boot(k);
        this.swapMedium = new RamDisk(k, 0, 32L << 20);
        mm.swapon(new IdeDisk(mm.blk(), "hda2", swapMedium, PhysMem.PAGE_SIZE));
        this.diskMedium = new RamDisk(k, 1, 12L << 20);
        this.disk = new IdeDisk(mm.blk(), "hda1", diskMedium, 1024);
        this.fs = Ext2Fs.mkfs(mm, disk);
        this.freeBlocksAtMkfs = fs.freeBlocksCount();
        this.swapFreeAtBoot = mm.swap().nrSwapPages();
        this.otherTask = k.kthreadRun("fuzz22-other", 0, self -> {
            while (!self.kthreadShouldStop()) {
                self.scheduleTimeout(50_000_000L);
            }
        });
        this.other = Process22.attach(mm, otherTask);
        this.kbufPfn = mm.getFreePage(Gfp22.GFP_KERNEL);
        if (kbufPfn < 0) {
            throw new IllegalStateException("fuzz22: no page for the kernel buffer at boot");
        }
        this.kbuf = mm.mem().pageAddress(kbufPfn);
        this.maps = new ArrayList<>();
        this.peerMaps = new ArrayList<>();
        this.files = new ArrayList<>();
        this.released = new ArrayList<>();
        this.state = new State();
        startProcess();
        startPeer();
    }

    /** A new peer process on a thread (and task) of its own. */
    final void startPeer() {
        state.peerThread = new ProcessThread("fuzz22-peer-" + (++state.generation));
        attach(state.peerThread, p -> state.peer = p, "the peer process");
    }

    /** One call made on the peer process's thread. */
    Outcome callPeer(String op, boolean valid, String args, Harness.Action a) {
        return h.call(k, op, valid, args, () -> state.peerThread.run(a));
    }

    /** Runs {@code a} on the peer's thread outside the fuzz's calls (the final checks). */
    void onPeer(Harness.Action a) {
        runOutside(state.peerThread, a);
    }

    /** A new process on a thread (and task) of its own. */
    final void startProcess() {
        state.thread = new ProcessThread("fuzz22-proc-" + (++state.generation));
        attach(state.thread, p -> state.p = p, "a process");
    }

    /** One call of the 2.2 part, made on the current process's thread, so the process is current there. */
    Outcome call(String op, boolean valid, String args, Harness.Action a) {
        return h.call(k, op, valid, args, () -> state.thread.run(a));
    }

    /** Runs {@code a} on the process's thread outside the fuzz's calls (the final checks). */
    void onProcess(Harness.Action a) {
        runOutside(state.thread, a);
    }

    /** Attaches a 2.2 process to {@code thread}'s task and hands it to {@code set}. */
    private void attach(ProcessThread thread, Consumer<Process22> set, String what) {
        try {
            thread.run(() -> {
                set.accept(Process22.attach(mm, k.currentTask()));
                return Harness.Res.SUCCESS;
            });
        } catch (Exception e) {
            throw new IllegalStateException("fuzz22: cannot start " + what, e);
        }
    }

    /** Exits {@code p} on its own thread, then stops the thread. */
    static void exitAndStop(ProcessThread thread, Process22 p) {
        runOutside(thread, () -> {
            p.exit();
            return Harness.Res.SUCCESS;
        });
        stopThread(thread);
    }

    /** Stops a process's thread once its process has exited. */
    static void stopThread(ProcessThread thread) {
        try {
            thread.stop();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("fuzz22: interrupted", e);
        }
    }

    /** Why the process must go: the kernel killed it, or a fault of the fuzz's found no page (SIGBUS); else null. */
    String killedBy() {
        return state.fatal != null ? state.fatal : p().killedBy();
    }

    /** The same for the peer process. */
    String peerKilledBy() {
        return state.peerFatal != null ? state.peerFatal : state.peer.killedBy();
    }

    private static void runOutside(ProcessThread thread, Harness.Action a) {
        try {
            thread.run(a);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A group of operations working on the same model. */
    Linux22Context(Linux22Context c) {
        this.h = c.h;
        this.r = c.r;
        this.k = c.k;
        this.mm = c.mm;
        this.swapMedium = c.swapMedium;
        this.diskMedium = c.diskMedium;
        this.disk = c.disk;
        this.fs = c.fs;
        this.freeBlocksAtMkfs = c.freeBlocksAtMkfs;
        this.swapFreeAtBoot = c.swapFreeAtBoot;
        this.other = c.other;
        this.otherTask = c.otherTask;
        this.kbuf = c.kbuf;
        this.kbufPfn = c.kbufPfn;
        this.maps = c.maps;
        this.peerMaps = c.peerMaps;
        this.files = c.files;
        this.released = c.released;
        this.state = c.state;
    }

    Process22 p() {
        return state.p;
    }

    boolean valid() {
        return r.nextInt(100) < 70;
    }

    <T> T pick(List<T> l) {
        return l.get(r.nextInt(l.size()));
    }

    /** A mapping whose bytes the shadow knows (anonymous, or of a file), or null. */
    Map22 pickMap(boolean anonOnly) {
        for (int i = 0; i < 8 && !maps.isEmpty(); i++) {
            Map22 m = pick(maps);
            if (!m.scratch && (m.anon != null || !anonOnly) && m.len() > 0) {
                return m;
            }
        }
        return null;
    }

    Map22 pickScratch() {
        for (Map22 m : maps) {
            if (m.scratch) {
                return m;
            }
        }
        return null;
    }

    File22Model pickFile() {
        return files.isEmpty() ? null : pick(files);
    }

    String freshName() {
        return "f" + (state.seq++);
    }

    /** An address the fuzz knows no mapping holds: a guard page, below the first mapping, the kernel's, wild. */
    long unmappedAddr() {
        int c = r.nextInt(6);
        if (c == 0 && !maps.isEmpty()) {
            return pick(maps).v.end() + r.nextInt(PhysMem.PAGE_SIZE);
        }
        if (c == 1) {
            return r.nextInt(1 << 30);
        }
        if (c == 2) {
            return PhysMem.PAGE_OFFSET + r.nextInt(1 << 20);
        }
        if (c == 3) {
            return -1L - r.nextInt(1 << 12);
        }
        if (c == 4) {
            return Long.MAX_VALUE - r.nextInt(1 << 12);
        }
        return 0;
    }

    /** A kernel address the fuzz knows is not kernel memory, or, for over 16 bytes, a range running off its end. */
    long badKaddr() {
        long end = PhysMem.PAGE_OFFSET + mm.mem().size();
        switch (r.nextInt(6)) {
            case 0:
                return 0;
            case 1:
                return PhysMem.PAGE_OFFSET - PhysMem.PAGE_SIZE;
            case 2:
                return end;
            case 3:
                return end - 16;
            case 4:
                return Long.MIN_VALUE + r.nextInt(1 << 20);
            default:
                return r.nextLong();
        }
    }

    /** Bytes {@code [from, from+len)} of a mapping as the shadow knows them (a loose byte as its copy held it). */
    static byte[] expected(Map22 m, long from, int len) {
        byte[] out = new byte[len];
        if (m.anon != null) {
            System.arraycopy(m.anon, (int) from, out, 0, len);
        } else if (m.priv()) {
            for (int i = 0; i < len; i++) {
                long a = from + i;
                byte[] c = m.copies[(int) (a >>> PhysMem.PAGE_SHIFT)];
                out[i] = c != null ? c[(int) (a & (PhysMem.PAGE_SIZE - 1))] : fileByte(m.file, m.v.offset() + a);
            }
        } else {
            System.arraycopy(m.file.data, (int) (m.v.offset() + from), out, 0, len);
        }
        return out;
    }

    /** A file's byte at {@code off}: 0 beyond its end, as a page read from beyond the end holds. */
    static byte fileByte(File22Model f, long off) {
        return off < f.data.length ? f.data[(int) off] : 0;
    }

    /**
     * Whether {@code got}, read at {@code from}, is what the shadow allows there (a loose byte: its copy's or 0);
     * counts the loose bytes read that were zeroed and that kept their old value.
     */
    boolean matches(Map22 m, long from, byte[] got) {
        byte[] want = expected(m, from, got.length);
        if (!m.priv()) {
            return Arrays.equals(got, want);
        }
        for (int i = 0; i < got.length; i++) {
            long a = from + i;
            BitSet l = m.loose[(int) (a >>> PhysMem.PAGE_SHIFT)];
            boolean isLoose = l != null && l.get((int) (a & (PhysMem.PAGE_SIZE - 1)));
            if (isLoose && want[i] != 0) {
                if (got[i] == 0) {
                    state.looseZeroed++;
                } else {
                    state.looseKept++;
                }
            }
            if (got[i] != want[i] && (got[i] != 0 || !isLoose)) {
                return false;
            }
        }
        return true;
    }

    /** Where {@code got} first differs from the shadow, with what the shadow knows of that page, for a report. */
    static String firstDiff(Map22 m, long from, byte[] got) {
        byte[] want = expected(m, from, got.length);
        for (int i = 0; i < got.length; i++) {
            if (got[i] != want[i]) {
                long a = from + i;
                int pg = (int) (a >>> PhysMem.PAGE_SHIFT);
                String page = !m.priv() ? "" : m.copies[pg] == null ? ", page " + pg + " not copied"
                        : ", page " + pg + " copied" + (m.loose[pg] == null ? "" : ", loose " + m.loose[pg]);
                return "at +" + a + " (file offset " + (m.v.offset() + a) + ") read " + got[i]
                        + " where the shadow has "
                        + want[i] + page + (m.file == null ? "" : ", " + m.file + " " + m.file.data.length + " bytes");
            }
        }
        return "no difference";
    }

    /**
     * The shadow of a mapping takes {@code src} at {@code from}. A private page written for the first time gets
     * its copy of the file's page as it is now; the file never sees the bytes.
     */
    static void store(Map22 m, long from, byte[] src, int off, int len) {
        if (m.anon != null) {
            System.arraycopy(src, off, m.anon, (int) from, len);
        } else if (m.priv()) {
            int done = 0;
            while (done < len) {
                long a = from + done;
                int pg = (int) (a >>> PhysMem.PAGE_SHIFT);
                int po = (int) (a & (PhysMem.PAGE_SIZE - 1));
                int n = Math.min(len - done, PhysMem.PAGE_SIZE - po);
                if (m.copies[pg] == null) {
                    byte[] c = new byte[PhysMem.PAGE_SIZE];
                    long fo = m.v.offset() + ((long) pg << PhysMem.PAGE_SHIFT);
                    for (int i = 0; i < c.length; i++) {
                        c[i] = fileByte(m.file, fo + i);
                    }
                    m.copies[pg] = c;
                }
                System.arraycopy(src, off + done, m.copies[pg], po, n);
                if (m.loose[pg] != null) {
                    m.loose[pg].clear(po, po + n);
                }
                done += n;
            }
        } else {
            System.arraycopy(src, off, m.file.data, (int) (m.v.offset() + from), len);
        }
    }

    /**
     * The shadow follows ftruncate() of {@code f} to {@code size}: vmtruncate() zaps every private copy wholly
     * beyond it (that page reads the file again), and partial_clear() zeroes the tail of a straddling copy if it
     * is present, leaves it if it is in swap, and a zeroed swap-cache page may come back from swap with its old
     * tail (2.2's partial_clear() returns on a pte that is not present and never dirties the one it clears).
     */
    void truncated(File22Model f, long size) {
        boolean shrinks = size < f.data.length;
        if (shrinks && f.maps > 0) {
            state.mappedTruncates++;
        }
        f.data = Arrays.copyOf(f.data, (int) size);
        if (!shrinks) {
            // do_truncate() to a larger size leaves a hole and runs no vmtruncate(): every copy stays.
            return;
        }
        List<Map22> all = new ArrayList<>(maps);
        all.addAll(peerMaps);
        for (Map22 m : all) {
            if (m.file != f || !m.priv()) {
                continue;
            }
            for (int pg = 0; pg < m.copies.length; pg++) {
                long fo = m.v.offset() + ((long) pg << PhysMem.PAGE_SHIFT);
                if (fo >= size) {
                    m.copies[pg] = null;
                    m.loose[pg] = null;
                } else if (fo + PhysMem.PAGE_SIZE > size && m.copies[pg] != null) {
                    if (m.loose[pg] == null) {
                        m.loose[pg] = new BitSet(PhysMem.PAGE_SIZE);
                    }
                    m.loose[pg].set((int) (size - fo), PhysMem.PAGE_SIZE);
                }
            }
        }
    }

    /** A file's shadow takes a write of {@code n} bytes at {@code pos}. */
    static void fileStore(File22Model f, long pos, byte[] src, int n) {
        if (pos + n > f.data.length) {
            f.data = Arrays.copyOf(f.data, (int) (pos + n));
        }
        System.arraycopy(src, 0, f.data, (int) pos, n);
    }

    void retire(File22Model f) {
        released.add(f);
        if (released.size() > 16) {
            released.remove(0);
        }
    }
}
