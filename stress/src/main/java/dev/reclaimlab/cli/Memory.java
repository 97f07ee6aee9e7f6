package dev.reclaimlab.cli;

import dev.reclaimlab.kernel.KernelConfig;
import picocli.CommandLine;

/** Memory sizes as the kernel's memparse() reads them ("64m") and as the harness writes them back. */
public final class Memory {
    private Memory() {
    }

    /** Parses and checks a size a kernel can boot with. */
    public static long parse(String text) {
        try {
            long bytes = KernelConfig.memparse(text);
            KernelConfig.builder().memory(bytes).build();
            return bytes;
        } catch (IllegalArgumentException e) {
            throw new UsageException("memory " + text + ": " + e.getMessage());
        }
    }

    /** The shortest memparse() spelling: 64m, 512k, or bytes. */
    public static String format(long bytes) {
        if (bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "g";
        }
        if (bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "m";
        }
        if (bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "k";
        }
        return Long.toString(bytes);
    }

    /** picocli's converter for --memory. */
    public static final class Converter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return parse(value);
            } catch (UsageException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
