package dev.reclaimlab.mm;

import dev.reclaimlab.kernel.Task;

import java.util.Arrays;

/**
 * A buffer in a user process's private anonymous memory that the kernel writes with copy_to_user(): a
 * malloc()ed block in the heap of a process just started, whose pages no one has touched yet. Linux 3.14,
 * mm/memory.c: the first write to a page faults, handle_mm_fault() -> handle_pte_fault() ->
 * do_anonymous_page() -> alloc_zeroed_user_highpage_movable(), an order-0 GFP_HIGHUSER_MOVABLE | __GFP_ZERO
 * allocation. So a kernel path that copies to user memory may enter direct reclaim with __GFP_FS whatever
 * locks it holds (filldir64() under a directory's i_mutex). A fault that gets no page is VM_FAULT_OOM, which a
 * fault from kernel mode turns into a short copy (arch/x86/mm/fault.c mm_fault_error() -> no_context() and the
 * exception fixup): the caller sees bytes not copied and returns -EFAULT. A read of a page never written
 * maps the zero page and allocates nothing. {@link #close()} is exit_mmap(): the pages go back.
 *
 * <p>The buffer belongs to the task that made it (current->mm): only that task copies to or from it. Not
 * modelled: mmap_sem (the process is single-threaded, so the fault's down_read() never waits), the page table
 * page (malloc()'s own writes to the block's header made it), the anon LRU (there is no swap, so the pages are
 * never reclaimed) and memcg charging.
 */
public final class UserBuffer implements AutoCloseable {
    /** alloc_zeroed_user_highpage_movable()'s mask on x86. */
    public static final int GFP_ANON_FAULT = Gfp.GFP_HIGHUSER_MOVABLE | Gfp.__GFP_ZERO;

    private final Mm mm;
    private final Task owner;
    private final long size;
    // Pfn of each page, NULL_PAGE while not faulted in; touched only by the owner.
    private final int[] pages;
    private long faults;
    private long faultsFailed;
    private boolean exited;

    /**
     * A buffer of {@code size} bytes owned by the current task, none of it faulted in yet. {@code size} is
     * positive and at most the kernel's managed memory.
     */
    public UserBuffer(Mm mm, long size) {
        if (mm == null) {
            throw new IllegalArgumentException("user buffer: no mm");
        }
        long max = mm.pageAlloc().managedPages() * PhysMem.PAGE_SIZE;
        if (size <= 0 || size > max) {
            throw new IllegalArgumentException("user buffer of " + size + " bytes: want 1 to " + max
                    + " (the kernel's managed memory)");
        }
        this.mm = mm;
        this.owner = Task.current();
        this.size = size;
        this.pages = new int[(int) ((size + PhysMem.PAGE_SIZE - 1) >> PhysMem.PAGE_SHIFT)];
        Arrays.fill(pages, PageAlloc.NULL_PAGE);
    }

    public long size() {
        return size;
    }

    /** Pages faulted in so far (each one allocation). */
    public int residentPages() {
        int n = 0;
        for (int p : pages) {
            if (p != PageAlloc.NULL_PAGE) {
                n++;
            }
        }
        return n;
    }

    /** Write faults taken, and of them those that got no page (VM_FAULT_OOM). */
    public long faults() {
        return faults;
    }

    public long faultsFailed() {
        return faultsFailed;
    }

    /**
     * copy_to_user(): {@code len} bytes of {@code src} from {@code srcOff} to the buffer at {@code uoff},
     * faulting each page in on its first write. Returns the bytes not copied, as the kernel does: all of them
     * when the range is not inside the buffer (access_ok()), the rest from the page whose fault got no memory.
     */
    public int copyToUser(long uoff, byte[] src, int srcOff, int len) {
        checkCaller("copy_to_user");
        checkArray(src, srcOff, len, "copy_to_user");
        PhysMem mem = mm.mem();
        return walk(uoff, len, true, (kaddr, done, n) -> mem.copyIn(kaddr, src, srcOff + done, n));
    }

    /**
     * copy_from_user(): {@code len} bytes at {@code uoff} into {@code dst} from {@code dstOff}; a page never
     * written reads as zeros (the zero page). Returns the bytes not copied: all of them outside the buffer.
     */
    public int copyFromUser(long uoff, byte[] dst, int dstOff, int len) {
        checkCaller("copy_from_user");
        checkArray(dst, dstOff, len, "copy_from_user");
        PhysMem mem = mm.mem();
        return walk(uoff, len, false, (kaddr, done, n) -> {
            if (kaddr == 0) {
                Arrays.fill(dst, dstOff + done, dstOff + done + n, (byte) 0);
            } else {
                mem.copyOut(kaddr, dst, dstOff + done, n);
            }
        });
    }

    /** One page's piece of a copy: {@code n} bytes at kernel address {@code kaddr} (0: the zero page). */
    private interface PageCopy {
        void copy(long kaddr, int done, int n);
    }

    /**
     * The pages of {@code len} bytes at {@code uoff}, piece by piece; a write faults a missing page in. Returns
     * the bytes not copied: all of them when access_ok() fails, the rest from a page whose fault got none.
     */
    private int walk(long uoff, int len, boolean write, PageCopy c) {
        if (!accessOk(uoff, len)) {
            return len;
        }
        int done = 0;
        while (done < len) {
            long at = uoff + done;
            int idx = (int) (at >> PhysMem.PAGE_SHIFT);
            int inPage = (int) (at & (PhysMem.PAGE_SIZE - 1));
            int n = Math.min(len - done, PhysMem.PAGE_SIZE - inPage);
            if (pages[idx] == PageAlloc.NULL_PAGE && write && !doAnonymousPage(idx)) {
                return len - done;
            }
            c.copy(pages[idx] == PageAlloc.NULL_PAGE ? 0 : mm.mem().pageAddress(pages[idx]) + inPage, done, n);
            done += n;
        }
        return 0;
    }

    /**
     * exit_mmap(): every faulted-in page is freed. A second close does nothing, nor does a close after the
     * kernel panicked or closed (a task unwinding from a proven deadlock: the pages go with the kernel).
     */
    @Override
    public void close() {
        checkOwner("exit_mmap");
        if (exited) {
            return;
        }
        exited = true;
        if (mm.kernel().panicked() || mm.kernel().isClosed()) {
            return;
        }
        for (int i = 0; i < pages.length; i++) {
            if (pages[i] != PageAlloc.NULL_PAGE) {
                mm.freePages(pages[i], 0);
                pages[i] = PageAlloc.NULL_PAGE;
            }
        }
    }

    /** do_anonymous_page(): a zeroed page for page {@code idx}; false on VM_FAULT_OOM. */
    private boolean doAnonymousPage(int idx) {
        faults++;
        int p = mm.allocPages(GFP_ANON_FAULT, 0);
        if (p == PageAlloc.NULL_PAGE) {
            faultsFailed++;
            return false;
        }
        pages[idx] = p;
        return true;
    }

    /** access_ok(): whether {@code len} bytes at {@code uoff} lie inside the buffer. */
    public boolean accessOk(long uoff, long len) {
        return uoff >= 0 && len >= 0 && uoff <= size && len <= size - uoff;
    }

    private void checkCaller(String op) {
        checkOwner(op);
        if (exited) {
            throw new IllegalStateException(op + " to " + this + ": the process has exited");
        }
    }

    private void checkOwner(String op) {
        if (Task.currentOrNull() != owner) {
            throw new IllegalStateException(op + " to " + this + " from " + Task.currentOrNull()
                    + ": only its own task touches a process's memory");
        }
    }

    private void checkArray(byte[] b, int off, int len, String op) {
        if (b == null) {
            throw new IllegalArgumentException(op + " to " + this + ": null kernel buffer");
        }
        if (off < 0 || len < 0 || len > b.length - off) {
            throw new IllegalArgumentException(op + " to " + this + ": " + len + " bytes at " + off
                    + " of a " + b.length + "-byte kernel buffer");
        }
    }

    @Override
    public String toString() {
        return "user buffer of " + owner + " (" + size + " bytes)";
    }
}
