package dev.reclaimlab.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The call being made, in a memory-mapped file: written before each call, so it survives the JVM dying in
 * it (the page cache of the host keeps the mapping's last contents). Layout: the call number (long), then
 * the description's length (int) and its UTF-8 bytes, cut at {@link #MAX_DESC}.
 */
final class CallLog {
    static final int MAX_DESC = 4000;
    private static final int SIZE = 8 + 4 + MAX_DESC;

    private final MappedByteBuffer buf;
    private volatile long calls;

    private CallLog(MappedByteBuffer buf) {
        this.buf = buf;
    }

    static CallLog create(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            return new CallLog(ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE));
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz: cannot map the call log " + file, e);
        }
    }

    /** Records call {@code n} before it is made. Only the fuzz thread writes. */
    void begin(long n, String desc) {
        byte[] b = desc.getBytes(StandardCharsets.UTF_8);
        int len = Math.min(b.length, MAX_DESC);
        buf.putLong(0, -1);
        buf.putInt(8, len);
        buf.put(12, b, 0, len);
        buf.putLong(0, n);
        calls = n;
    }

    /** Calls begun so far (for the progress thread). */
    long calls() {
        return calls;
    }

    /** What a log file says: the last call begun, or null if none was. */
    static Entry read(Path file) {
        try {
            if (!Files.exists(file) || Files.size(file) < 12) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file));
            long n = b.getLong(0);
            int len = b.getInt(8);
            if (n < 0 || len < 0 || len > MAX_DESC) {
                return null;
            }
            return new Entry(n, new String(b.array(), 12, len, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("fuzz: cannot read the call log " + file, e);
        }
    }

    /** One logged call. */
    record Entry(long call, String description) {
    }
}
