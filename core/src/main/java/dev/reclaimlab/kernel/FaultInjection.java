package dev.reclaimlab.kernel;

import dev.reclaimlab.mm.FailPageAlloc;
import dev.reclaimlab.mm.Failslab;
import dev.reclaimlab.mm.KmemCache;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One kernel's fault-injection switches (Documentation/fault-injection, as in Linux 4.3), changeable at
 * run time like debugfs and sysfs: {@code failslab}, {@code fail_page_alloc} and {@code fail_make_request}
 * with their attributes, a cache's failslab flag, a device's make-it-fail and a task's make-it-fail.
 * Paths are the kernel's:
 * <pre>
 *   /sys/kernel/debug/failslab/probability      (or just failslab/probability)
 *   /sys/kernel/debug/fail_page_alloc/min-order
 *   /sys/kernel/debug/fail_make_request/times
 *   /sys/kernel/slab/kmalloc-64/failslab
 *   /sys/block/ram0/make-it-fail
 *   /proc/42/make-it-fail
 * </pre>
 * Each capability is also reachable as an object ({@link #failslab()} ...). Nothing here fails by default.
 */
public final class FaultInjection {
    private static final String DEBUGFS = "/sys/kernel/debug/";

    private final Kernel kernel;
    private final FaultAttr failMakeRequest = new FaultAttr("fail_make_request");
    private final Set<String> makeItFailDevices = ConcurrentHashMap.newKeySet();

    FaultInjection(Kernel kernel) {
        this.kernel = kernel;
    }

    public Failslab failslab() {
        return kernel.mm().slub().failslab();
    }

    public FailPageAlloc failPageAlloc() {
        return kernel.mm().pageAlloc().failPageAlloc();
    }

    /** fail_make_request (block/blk-core.c): bios to a device with make-it-fail end with -EIO at submission. */
    public FaultAttr failMakeRequest() {
        return failMakeRequest;
    }

    /** /sys/block/DEV/make-it-fail. */
    public void setMakeItFail(String device, boolean on) {
        if (device == null || device.isBlank()) {
            throw new IllegalArgumentException("make-it-fail: no device named");
        }
        if (on) {
            makeItFailDevices.add(device);
        } else {
            makeItFailDevices.remove(device);
        }
    }

    public boolean makeItFail(String device) {
        return device != null && makeItFailDevices.contains(device);
    }

    /**
     * should_fail_request(): whether a bio of {@code bytes} to {@code device} fails now, by the current
     * task. Cheap when nothing is armed.
     */
    public boolean shouldFailRequest(String device, long bytes) {
        return failMakeRequest.probability() != 0 && makeItFailDevices.contains(device)
                && failMakeRequest.shouldFail(Task.currentOrNull(), bytes, kernel);
    }

    /** Reseeds every capability's random stream (and interval count): a run with the same seed fails alike. */
    public void seed(long seed) {
        failslab().attr().seed(seed ^ 0x51AB);
        failPageAlloc().attr().seed(seed ^ 0xFA11);
        failMakeRequest.seed(seed ^ 0xB10C);
    }

    /** Turns every capability off (probability 0) and clears every device's make-it-fail. */
    public void disableAll() {
        failslab().attr().disable();
        failPageAlloc().attr().disable();
        failMakeRequest.disable();
        makeItFailDevices.clear();
    }

    /** Failures injected so far by the three capabilities together. */
    public long injected() {
        return failslab().attr().injected() + failPageAlloc().attr().injected() + failMakeRequest.injected();
    }

    // ---------------------------------------------------------------- debugfs, sysfs, procfs

    /** cat PATH. */
    public String read(String path) {
        Target t = resolve(path);
        switch (t.kind) {
            case "failslab":
                return failslab().read(t.file);
            case "fail_page_alloc":
                return failPageAlloc().read(t.file);
            case "fail_make_request":
                return failMakeRequest.read(t.file);
            case "slab":
                return cache(t.object, path).failslab() ? "1" : "0";
            case "block":
                return makeItFail(t.object) ? "1" : "0";
            default:
                return task(t.object, path).makeItFail() ? "1" : "0";
        }
    }

    /** echo VALUE > PATH; a value the file cannot take, or a path that does not exist, is refused. */
    public void write(String path, String value) {
        Target t = resolve(path);
        switch (t.kind) {
            case "failslab":
                failslab().write(t.file, value);
                break;
            case "fail_page_alloc":
                failPageAlloc().write(t.file, value);
                break;
            case "fail_make_request":
                failMakeRequest.write(t.file, value);
                break;
            case "slab":
                cache(t.object, path).setFailslab(FaultAttr.parseBool(value, path));
                break;
            case "block":
                setMakeItFail(t.object, FaultAttr.parseBool(value, path));
                break;
            default:
                task(t.object, path).setMakeItFail(FaultAttr.parseBool(value, path));
        }
    }

    private record Target(String kind, String object, String file) {
    }

    private static Target resolve(String path) {
        if (path == null) {
            throw new IllegalArgumentException("fault injection: null path");
        }
        String p = path.startsWith(DEBUGFS) ? path.substring(DEBUGFS.length()) : path;
        String[] f = p.split("/");
        if (f.length == 2 && (f[0].equals("failslab") || f[0].equals("fail_page_alloc")
                || f[0].equals("fail_make_request"))) {
            return new Target(f[0], null, f[1]);
        }
        if (f.length == 6 && f[0].isEmpty() && f[1].equals("sys") && f[2].equals("kernel") && f[3].equals("slab")
                && f[5].equals("failslab")) {
            return new Target("slab", f[4], f[5]);
        }
        if (f.length == 5 && f[0].isEmpty() && f[1].equals("sys") && f[2].equals("block")
                && f[4].equals("make-it-fail")) {
            return new Target("block", f[3], f[4]);
        }
        if (f.length == 4 && f[0].isEmpty() && f[1].equals("proc") && f[3].equals("make-it-fail")) {
            return new Target("proc", f[2], f[3]);
        }
        throw new IllegalArgumentException(path + ": no such fault-injection file");
    }

    private KmemCache cache(String name, String path) {
        for (KmemCache c : kernel.mm().slub().caches()) {
            if (c.name().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException(path + ": no slab cache " + name);
    }

    private Task task(String pid, String path) {
        Task t;
        try {
            t = kernel.findTaskByPid(Integer.parseInt(pid));
        } catch (NumberFormatException e) {
            t = null;
        }
        if (t == null) {
            throw new IllegalArgumentException(path + ": no task with pid " + pid);
        }
        return t;
    }

    @Override
    public String toString() {
        return failslab() + "; " + failPageAlloc() + "; " + failMakeRequest + " devices " + makeItFailDevices;
    }
}
