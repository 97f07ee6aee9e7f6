package dev.reclaimlab.swap;

/**
 * read_actor_t (Linux 2.2's mm/filemap.c): where do_generic_file_read() copies each piece (a user buffer, a
 * Java array).
 */
@FunctionalInterface
public interface ReadActor {
    /**
     * Copies {@code len} bytes at kernel address {@code kaddr} to the reader's offset {@code dstOff}; returns the
     * bytes it could not copy (file_read_actor()'s __copy_to_user() left over: the read stops with -EFAULT).
     */
    int actor(long kaddr, long dstOff, int len);
}
