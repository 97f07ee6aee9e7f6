package dev.reclaimlab.block.nbd;

import dev.reclaimlab.mm.PhysMem;

/**
 * include/linux/nbd.h (2.2): struct nbd_request {magic, type, handle[8], from, len} (28 bytes, packed) and
 * struct nbd_reply {magic, error, handle[8]} (16 bytes), in network byte order. The handle is the
 * request's slot in all_requests[].
 */
final class NbdProto {
    static final int NBD_REQUEST_MAGIC = 0x25609513;
    static final int NBD_REPLY_MAGIC = 0x67446698;
    static final int REQUEST_SIZE = 28;
    static final int REPLY_SIZE = 16;

    private NbdProto() {
    }

    static void putRequest(PhysMem mem, long at, int type, long handle, long from, int len) {
        mem.putInt(at, Integer.reverseBytes(NBD_REQUEST_MAGIC));
        mem.putInt(at + 4, Integer.reverseBytes(type));
        mem.putLong(at + 8, Long.reverseBytes(handle));
        mem.putLong(at + 16, Long.reverseBytes(from));
        mem.putInt(at + 24, Integer.reverseBytes(len));
    }

    static void putReply(PhysMem mem, long at, int error, long handle) {
        mem.putInt(at, Integer.reverseBytes(NBD_REPLY_MAGIC));
        mem.putInt(at + 4, Integer.reverseBytes(error));
        mem.putLong(at + 8, Long.reverseBytes(handle));
    }

    static int magic(PhysMem mem, long at) {
        return Integer.reverseBytes(mem.getInt(at));
    }

    static int type(PhysMem mem, long at) {
        return Integer.reverseBytes(mem.getInt(at + 4));
    }

    static long handle(PhysMem mem, long at) {
        return Long.reverseBytes(mem.getLong(at + 8));
    }

    static long from(PhysMem mem, long at) {
        return Long.reverseBytes(mem.getLong(at + 16));
    }

    static int len(PhysMem mem, long at) {
        return Integer.reverseBytes(mem.getInt(at + 24));
    }

    static int replyError(PhysMem mem, long at) {
        return Integer.reverseBytes(mem.getInt(at + 4));
    }
}
