package dev.reclaimlab.nfs;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Filemap;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.Readahead;
import dev.reclaimlab.sunrpc.RpcCallOps;
import dev.reclaimlab.sunrpc.RpcTask;

import java.util.Arrays;


/**
 * fs/nfs/read.c of Linux 3.14, the readahead half: nfs_readpages() -> read_cache_pages() adds each page
 * readahead hands over to the cache (GFP_KERNEL in 3.14, {@link Readahead#readpagesGfp}) and gives it to
 * readpage_async_filler(), which zeroes a page wholly past i_size at once and otherwise puts a request into a
 * read descriptor; contiguous pages go out together in async READs of up to rsize (the coalescing rule of
 * nfs_can_coalesce_requests() and nfs_generic_pg_test()), and each reply's release fills its pages (zeros
 * past the bytes the server had), sets them uptodate and unlocks them (nfs_read_completion()), or on error
 * unlocks them !uptodate, for the reader to see when it retries with ->readpage().
 */
final class NfsRead {
    private final NfsClient nfs;
    private final Kernel kernel;
    private final Filemap fm;
    private final PhysMem mem;

    NfsRead(NfsClient nfs) {
        this.nfs = nfs;
        this.kernel = nfs.kernel();
        this.fm = kernel.mm().filemap();
        this.mem = kernel.mm().mem();
    }

    /** nfs_readpages(): see the class comment. Every page's readahead reference is dropped. */
    int nfsReadpages(NfsInode ip, int[] pages, int nrPages) {
        int gfp = Readahead.readpagesGfp(kernel, ip.mapping());
        int[] desc = new int[Math.max(1, nfs.server().rsize() / PhysMem.PAGE_SIZE)];
        int n = 0;
        long next = -1;
        for (int i = 0; i < nrPages; i++) {
            int pfn = pages[i];
            long index = fm.pageIndex(pfn);
            int added = fm.addToPageCacheLru(pfn, ip.mapping(), index, gfp);
            fm.putPage(pfn);
            if (added != 0) {
                continue;
            }
            long len = Math.min(PhysMem.PAGE_SIZE, ip.iSize() - (index << PhysMem.PAGE_SHIFT));
            if (len <= 0) {
                // nfs_return_empty_page().
                mem.memset(kernel.mm().pageAddress(pfn), 0, PhysMem.PAGE_SIZE);
                fm.setPageUptodate(pfn);
                fm.unlockPage(pfn);
                continue;
            }
            if (n > 0 && (index != next || n == desc.length)) {
                sendRead(ip, Arrays.copyOf(desc, n));
                n = 0;
            }
            desc[n++] = pfn;
            // A short page ends a READ: nothing coalesces after it (prev->wb_bytes != PAGE_CACHE_SIZE).
            next = len == PhysMem.PAGE_SIZE ? index + 1 : -1;
        }
        if (n > 0) {
            sendRead(ip, Arrays.copyOf(desc, n));
        }
        return 0;
    }

    /** nfs_pageio_doio() -> nfs_initiate_read(): one async READ for the locked, contiguous pages. */
    private void sendRead(NfsInode ip, int[] pfns) {
        long pos = fm.pageIndex(pfns[0]) << PhysMem.PAGE_SHIFT;
        int count = pfns.length * PhysMem.PAGE_SIZE;
        nfs.server().reads.incrementAndGet();
        RpcTask t = nfs.server().client().rpcNewTask(nfs.server().client().newCall(NfsProto.NFSPROC3_READ,
                new NfsProto.ReadArgs(ip.fh(), pos, count), null),
                RpcCallOps.onRelease(task -> nfsReadCompletion(pfns, task)), null, true);
        // The pages stay locked until the reply's release: their lock is owed by the READ, not by the reader.
        for (int pfn : pfns) {
            fm.setPageLockOwedBy(pfn, t);
        }
        t.rpcExecute();
        t.rpcPutTask();
    }

    /** nfs_read_completion(): fill, mark uptodate and unlock each page; on error unlock it !uptodate. */
    private void nfsReadCompletion(int[] pfns, RpcTask task) {
        boolean ok = task.status() >= 0;
        byte[] data = ok ? task.reply().data() : null;
        int have = data == null ? 0 : data.length;
        int off = 0;
        for (int pfn : pfns) {
            if (ok) {
                long va = kernel.mm().pageAddress(pfn);
                int n = Math.max(0, Math.min(PhysMem.PAGE_SIZE, have - off));
                if (n > 0) {
                    mem.copyIn(va, data, off, n);
                }
                if (n < PhysMem.PAGE_SIZE) {
                    mem.memset(va + n, 0, PhysMem.PAGE_SIZE - n);
                }
                fm.setPageUptodate(pfn);
            }
            off += PhysMem.PAGE_SIZE;
            fm.unlockPage(pfn);
        }
    }
}
