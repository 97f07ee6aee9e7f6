package dev.reclaimlab.kernel;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * One declared change of kernel behaviour: a historical fix, a proposed patch that never landed, or a
 * behaviour a later release introduced (DESIGN.md rules 4 and 11). It is declared as a constant beside
 * the code that reads it, and read there with {@code kernel.config().has(FIX)}:
 *
 * <pre>
 * public static final Fix LOOP_MEMALLOC_NOIO = Fix.declare("loop_memalloc_noio",
 *         "loop workers run each work under memalloc_noio_save()", "...", null);
 * </pre>
 *
 * A kernel has a fix when its {@link KernelConfig} names it, or when the fix {@link #landedIn() landed} in
 * the kernel's version or earlier (and the config does not take it out). The name is the kernel-style
 * identifier that {@code reclaimlab list}, {@code toString()} and the JSON print.
 */
public final class Fix {
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");
    private static final AtomicInteger NEXT_ID = new AtomicInteger();
    private static final Map<String, Fix> BY_NAME = new ConcurrentHashMap<>();

    private final String name;
    private final String description;
    private final String patch;
    private final KernelVersion landedIn;
    private final int id;

    private Fix(String name, String description, String patch, KernelVersion landedIn, int id) {
        this.name = name;
        this.description = description;
        this.patch = patch;
        this.landedIn = landedIn;
        this.id = id;
    }

    /**
     * Declares a fix. {@code name}: lower-case kernel-style identifier, unique in the JVM; {@code
     * description}: one line on what changes; {@code patch}: the commit or posting it models;
     * {@code landedIn}: the first release with it, or null for a patch that never landed (an RFC, a control).
     */
    public static Fix declare(String name, String description, String patch, KernelVersion landedIn) {
        Objects.requireNonNull(name, "fix name");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("Fix.declare: name '" + name + "' is not a lower-case kernel-style identifier");
        }
        if (description == null || description.isBlank() || patch == null || patch.isBlank()) {
            throw new IllegalArgumentException("Fix.declare(" + name + "): a description and the patch it models are required");
        }
        Fix f = new Fix(name, description, patch, landedIn, NEXT_ID.getAndIncrement());
        Fix old = BY_NAME.putIfAbsent(name, f);
        if (old != null) {
            throw new IllegalStateException("Fix.declare: '" + name + "' is declared twice");
        }
        return f;
    }

    /** The fix declared as {@code name}, if its declaring class was loaded; throws naming the known ones. */
    public static Fix byName(String name) {
        Fix f = BY_NAME.get(name);
        if (f == null) {
            throw new IllegalArgumentException("no fix '" + name + "'; known: " + List.copyOf(new java.util.TreeSet<>(BY_NAME.keySet())));
        }
        return f;
    }

    /** Every fix declared so far (by loaded classes). */
    public static Collection<Fix> declared() {
        return List.copyOf(BY_NAME.values());
    }

    public String name() {
        return name;
    }

    public String description() {
        return description;
    }

    /** The commit or posting modelled, e.g. "c62d25556be6 mm, fs: obey gfp_mapping for add_to_page_cache()". */
    public String patch() {
        return patch;
    }

    /** The first release that has it, or null if it never landed. */
    public KernelVersion landedIn() {
        return landedIn;
    }

    /** Whether a kernel of version {@code v} has this fix unless told otherwise. */
    public boolean inVersion(KernelVersion v) {
        return landedIn != null && v.atLeast(landedIn);
    }

    int id() {
        return id;
    }

    @Override
    public String toString() {
        return name;
    }
}
