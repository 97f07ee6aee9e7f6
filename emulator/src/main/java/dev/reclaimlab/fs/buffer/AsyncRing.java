package dev.reclaimlab.fs.buffer;

import dev.reclaimlab.locking.Waitable;
import dev.reclaimlab.locking.WakerSink;
import dev.reclaimlab.swap.Page22;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * fs/buffer.c as in Linux 2.2.1: the async buffer heads brw_page() puts on one page for one IO (b_this_page
 * ring, not hashed, not in page->buffers). The page is done when the last of them ends; until then every
 * request still pending must end, so a waiter on the page names all of their owners.
 */
final class AsyncRing implements Waitable {
    final Page22 page;
    final BufferHead[] heads;
    final AtomicInteger pending = new AtomicInteger();

    AsyncRing(Page22 page, BufferHead[] heads) {
        this.page = page;
        this.heads = heads;
    }

    boolean allUptodate() {
        for (BufferHead bh : heads) {
            if (!bh.uptodate()) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String name() {
        return "page IO of pfn " + page.pfn();
    }

    @Override
    public void wakers(WakerSink out) {
        int n = 0;
        for (BufferHead bh : heads) {
            if (bh.locked()) {
                bh.wakers(out);
                n++;
            }
        }
        if (n > 1) {
            out.all();
        }
    }
}
