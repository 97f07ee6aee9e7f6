package dev.reclaimlab.fs;

import dev.reclaimlab.mm.UserBuffer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The user side of getdents64(), as glibc's readdir64() walks its buffer: the struct linux_dirent64 records in
 * {@code len} bytes of a user buffer, checked as they are read (each d_reclen 8-byte aligned and inside the
 * bytes returned, a NUL-terminated name, a nonzero d_ino). Tooling, no kernel code: it reads struct
 * linux_dirent64 as Linux 3.14 lays it out (include/linux/dirent.h, unchanged since 2.4) and {@link Readdir}
 * writes it.
 */
public final class Dirents {
    /** One record: the entry's inode number, its d_off and its name. */
    public record Dirent(long ino, long off, String name) {
    }

    private Dirents() {
    }

    /** The records of {@code len} bytes at {@code uoff} in {@code buf}; IllegalStateException if one is malformed. */
    public static List<Dirent> parse(UserBuffer buf, long uoff, int len) {
        byte[] b = new byte[len];
        if (buf.copyFromUser(uoff, b, 0, len) != 0) {
            throw new IllegalArgumentException("dirents: " + len + " bytes at " + uoff + " are outside " + buf);
        }
        List<Dirent> out = new ArrayList<>();
        int p = 0;
        while (p < len) {
            if (len - p < Readdir.NAME_OFFSET + 1) {
                throw malformed(buf, p, "a record header past the end (" + len + " bytes)");
            }
            int reclen = (b[p + 16] & 0xff) | (b[p + 17] & 0xff) << 8;
            if (reclen < Readdir.reclen(0) || (reclen & 7) != 0 || reclen > len - p) {
                throw malformed(buf, p, "d_reclen " + reclen);
            }
            int end = p + Readdir.NAME_OFFSET;
            while (end < p + reclen && b[end] != 0) {
                end++;
            }
            if (end == p + reclen || end == p + Readdir.NAME_OFFSET) {
                throw malformed(buf, p, "no NUL-terminated name in " + reclen + " bytes");
            }
            long ino = getLong(b, p);
            if (ino == 0) {
                throw malformed(buf, p, "d_ino 0");
            }
            String name = new String(b, p + Readdir.NAME_OFFSET, end - p - Readdir.NAME_OFFSET, StandardCharsets.UTF_8);
            out.add(new Dirent(ino, getLong(b, p + 8), name));
            p += reclen;
        }
        return out;
    }

    private static IllegalStateException malformed(UserBuffer buf, int at, String why) {
        return new IllegalStateException("dirents in " + buf + ": record at " + at + ": " + why);
    }

    private static long getLong(byte[] b, int at) {
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (b[at + i] & 0xff);
        }
        return v;
    }
}
