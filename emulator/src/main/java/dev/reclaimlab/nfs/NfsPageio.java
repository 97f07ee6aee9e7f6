package dev.reclaimlab.nfs;

import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.mm.WritebackControl;

import java.util.ArrayList;
import java.util.List;

/**
 * struct nfs_pageio_descriptor for writes (fs/nfs/pagelist.c and fs/nfs/write.c, Linux 3.14): the requests
 * that nfs_writepages() or nfs_writepage() hands over are gathered into one WRITE while they are contiguous
 * and fit in wsize (nfs_can_coalesce_requests(): the previous request ends its page, the next starts its own
 * at the next offset; nfs_generic_pg_test(): pg_count + wb_bytes <= pg_bsize). A request that does not fit
 * sends what is gathered with pg_moreio set, then starts the next WRITE; nfs_pageio_complete() sends the
 * rest. wb_priority() gives FLUSH_STABLE for reclaim's pageout() and FLUSH_COND_STABLE otherwise;
 * nfs_flush_one() drops FLUSH_COND_STABLE, for this WRITE and every later one of the descriptor, once more IO
 * follows or the inode has requests to commit, so only a lone WRITE of an inode with nothing to commit goes
 * FILE_SYNC.
 */
final class NfsPageio {
    /** wb_priority(): reclaim's pageout() writes stable. */
    static final int FLUSH_STABLE = 0x4;
    /** wb_priority(): stable only if this WRITE is all there is to do for the inode. */
    static final int FLUSH_COND_STABLE = 0x20;

    /** One request in the descriptor: its page (under writeback) and how many bytes of it the WRITE carries. */
    record Item(NfsPage req, int pfn, int len) {
    }

    private final NfsWrite write;
    private final NfsInode inode;
    private final int bsize;
    private int ioflags;
    private boolean moreio;
    private List<Item> list = new ArrayList<>();
    private int count;

    NfsPageio(NfsWrite write, NfsInode inode, int wsize, WritebackControl wbc) {
        this.write = write;
        this.inode = inode;
        this.bsize = wsize;
        this.ioflags = wbc.forReclaim ? FLUSH_STABLE : FLUSH_COND_STABLE;
    }

    /** nfs_pageio_add_request(). */
    void add(Item it) {
        if (!canCoalesce(it)) {
            moreio = true;
            doio();
            moreio = false;
        }
        list.add(it);
        count += it.len();
    }

    private boolean canCoalesce(Item it) {
        if (list.isEmpty()) {
            return true;
        }
        Item prev = list.get(list.size() - 1);
        return prev.len() == PhysMem.PAGE_SIZE && it.req().index == prev.req().index + 1
                && bsize >= PhysMem.PAGE_SIZE && count + it.len() <= bsize;
    }

    /** nfs_pageio_complete(). */
    void complete() {
        doio();
    }

    /** nfs_pageio_doio() -> nfs_flush_one(): one WRITE for every request gathered. */
    private void doio() {
        if (list.isEmpty()) {
            return;
        }
        if ((ioflags & FLUSH_COND_STABLE) != 0 && (moreio || inode.ncommit() > 0)) {
            ioflags &= ~FLUSH_COND_STABLE;
        }
        boolean stable = (ioflags & (FLUSH_STABLE | FLUSH_COND_STABLE)) != 0;
        List<Item> batch = list;
        list = new ArrayList<>();
        int len = count;
        count = 0;
        write.sendWrite(inode, batch, len, stable ? NfsProto.NFS_FILE_SYNC : NfsProto.NFS_UNSTABLE);
    }
}
