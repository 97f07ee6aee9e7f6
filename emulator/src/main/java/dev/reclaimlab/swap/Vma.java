package dev.reclaimlab.swap;

import dev.reclaimlab.mm.PhysMem;

/**
 * struct vm_area_struct as in Linux 2.2, with its page table flattened into one array of i386-style ptes:
 * a present pte holds the pfn and _PAGE_PRESENT/_RW/_ACCESSED/_DIRTY, a swapped-out one holds its swap
 * entry (present bit clear), 0 is none. Ptes are read and written under the mm's page_table_lock.
 */
public final class Vma {
    public static final int VM_READ = 0x0001;
    public static final int VM_WRITE = 0x0002;
    public static final int VM_SHARED = 0x0008;
    public static final int VM_SHM = 0x0400;
    public static final int VM_LOCKED = 0x2000;

    static final long PTE_PRESENT = 0x001;
    static final long PTE_RW = 0x002;
    static final long PTE_ACCESSED = 0x020;
    static final long PTE_DIRTY = 0x040;
    private static final long PTE_FLAGS = 0xfff;

    private final MmStruct mm;
    private final long start;
    private final int nrPages;
    private final int flags;
    private final File22 file;
    private final long offset;
    private final long[] ptes;
    volatile boolean dead;

    Vma(MmStruct mm, long start, int nrPages, int flags, File22 file, long offset) {
        this.mm = mm;
        this.start = start;
        this.nrPages = nrPages;
        this.flags = flags;
        this.file = file;
        this.offset = offset;
        this.ptes = new long[nrPages];
    }

    public MmStruct mm() {
        return mm;
    }

    public long start() {
        return start;
    }

    public long end() {
        return start + ((long) nrPages << PhysMem.PAGE_SHIFT);
    }

    public int nrPages() {
        return nrPages;
    }

    public int flags() {
        return flags;
    }

    /** vm_file, or null for anonymous memory. */
    public File22 file() {
        return file;
    }

    /** vm_offset: the file offset of the first page. */
    public long offset() {
        return offset;
    }

    /** vm_ops->swapout is filemap_swapout for a shared file mapping. */
    boolean sharedFile() {
        return file != null && (flags & VM_SHARED) != 0;
    }

    boolean contains(long addr) {
        return addr >= start && addr < end();
    }

    int index(long addr) {
        return (int) ((addr - start) >>> PhysMem.PAGE_SHIFT);
    }

    long pte(int idx) {
        return ptes[idx];
    }

    void setPte(int idx, long v) {
        ptes[idx] = v;
    }

    static boolean present(long pte) {
        return (pte & PTE_PRESENT) != 0;
    }

    static int ptePfn(long pte) {
        return (int) (pte >>> PhysMem.PAGE_SHIFT);
    }

    static long mkPte(int pfn, long bits) {
        return ((long) pfn << PhysMem.PAGE_SHIFT) | (bits & PTE_FLAGS) | PTE_PRESENT;
    }

    @Override
    public String toString() {
        return String.format("vma %x-%x flags 0x%x%s", start, end(), flags, file == null ? " anon" : " " + file.name());
    }
}
