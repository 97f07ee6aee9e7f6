package dev.reclaimlab.fs;

import dev.reclaimlab.mm.PhysMem;

/**
 * struct iov_iter (lib/iov_iter.c): where a read puts its bytes and a write takes them from. ITER_KVEC
 * is a Java array; ITER_BVEC is kernel memory, as the loop device has passed page segments to the backing
 * file's read_iter/write_iter since "block: loop: switch to VFS ITER_BVEC" (4.3), which is what put the
 * loop worker straight into the backing filesystem's page-cache read.
 */
public abstract class IovIter {
    private IovIter() {
    }

    /** copy_page_to_iter(): {@code n} bytes from kernel memory at {@code src} to the iterator, advancing it. */
    public abstract void copyPageToIter(PhysMem mem, long src, int n);

    /** copy_page_from_iter(): {@code n} bytes from the iterator to kernel memory at {@code dst}. */
    public abstract void copyPageFromIter(PhysMem mem, long dst, int n);

    /** An ITER_KVEC over {@code buf} from {@code off}. */
    public static IovIter ofArray(byte[] buf, int off) {
        return new IovIter() {
            private int pos = off;

            @Override
            public void copyPageToIter(PhysMem mem, long src, int n) {
                mem.copyOut(src, buf, pos, n);
                pos += n;
            }

            @Override
            public void copyPageFromIter(PhysMem mem, long dst, int n) {
                mem.copyIn(dst, buf, pos, n);
                pos += n;
            }
        };
    }

    /** An ITER_BVEC over kernel memory from {@code addr}. */
    public static IovIter ofBvec(long addr) {
        return new IovIter() {
            private long pos = addr;

            @Override
            public void copyPageToIter(PhysMem mem, long src, int n) {
                mem.memcpy(pos, src, n);
                pos += n;
            }

            @Override
            public void copyPageFromIter(PhysMem mem, long dst, int n) {
                mem.memcpy(dst, pos, n);
                pos += n;
            }
        };
    }
}
