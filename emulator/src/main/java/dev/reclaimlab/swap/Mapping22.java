package dev.reclaimlab.swap;

import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The page-cache half of a Linux 2.2 inode: i_pages and i_nrpages, the pages whose page->inode is this
 * inode, by page->offset. The swap cache is one of these (swapper_inode, keyed by swap entry). Changed and
 * read under pagecache_lock only.
 */
public final class Mapping22 {
    private final String name;
    final HashMap<Long, Page22> pages = new HashMap<>();
    /** i_mmap: the mappings of this file, whichever process's, for vmtruncate(). */
    final List<Vma> iMmap = new CopyOnWriteArrayList<>();

    public Mapping22(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** i_nrpages (racy, as /proc reads it). */
    public int nrpages() {
        return pages.size();
    }

    @Override
    public String toString() {
        return "mapping " + name;
    }
}
