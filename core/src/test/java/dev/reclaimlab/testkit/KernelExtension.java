package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.KernelConfig;
import dev.reclaimlab.kernel.KernelVersion;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

import java.lang.reflect.AnnotatedElement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * Boots and closes the kernels of a test. A {@code Kernel} parameter of a test method is booted from the
 * {@link Boot} on the method, else on the class (or an enclosing class), else the defaults; a
 * {@link Kernels} parameter boots more with computed configs. The thread that resolves the parameter (the
 * test's own, under JUnit's default same-thread timeouts) is attached to each kernel. After each test,
 * failed or not, every kernel booted for it is closed, newest first, and must then hold no off-heap byte:
 * a kernel that cannot be freed fails the test, with close()'s exception, if any, as the cause.
 */
public final class KernelExtension implements ParameterResolver, AfterEachCallback {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(KernelExtension.class);

    @Override
    public boolean supportsParameter(ParameterContext pc, ExtensionContext ec) {
        Class<?> type = pc.getParameter().getType();
        return type == Kernel.class || type == Kernels.class;
    }

    @Override
    public Object resolveParameter(ParameterContext pc, ExtensionContext ec) {
        Kernels kernels = kernels(ec);
        if (pc.getParameter().getType() == Kernels.class) {
            return kernels;
        }
        try {
            return kernels.boot(kernels.base());
        } catch (RuntimeException e) {
            throw new ParameterResolutionException("KernelExtension: cannot boot " + kernels.base() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void afterEach(ExtensionContext ec) {
        Kernels kernels = ec.getStore(NS).get(Kernels.class, Kernels.class);
        if (kernels != null) {
            closeAll(kernels.booted());
        }
    }

    /** Closes {@code ks} newest first, every one even if an earlier close throws; then checks each freed its memory. */
    static void closeAll(List<Kernel> ks) {
        List<Kernel> order = new ArrayList<>(ks);
        Collections.reverse(order);
        AssertionError failure = null;
        for (Kernel k : order) {
            RuntimeException closeError = null;
            try {
                k.close();
            } catch (RuntimeException e) {
                closeError = e;
            }
            long left = k.mm().offHeapBytes();
            if (left != 0 || closeError != null) {
                AssertionError e = new AssertionError("KernelExtension: kernel " + k.config() + (left != 0
                        ? " leaked " + left + " off-heap bytes after close()" : " failed to close"), closeError);
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static Kernels kernels(ExtensionContext ec) {
        return ec.getStore(NS).getOrComputeIfAbsent(Kernels.class, x -> new Kernels(config(ec)), Kernels.class);
    }

    /** The config of the nearest {@link Boot}: the test method's, then its class's, outward. */
    static KernelConfig config(ExtensionContext ec) {
        Optional<Boot> boot = find(ec.getTestMethod().orElse(null));
        for (Class<?> c = ec.getTestClass().orElse(null); boot.isEmpty() && c != null; c = c.getEnclosingClass()) {
            boot = find(c);
        }
        return boot.map(KernelExtension::config).orElseGet(KernelConfig::defaults);
    }

    private static Optional<Boot> find(AnnotatedElement e) {
        return e == null ? Optional.empty() : AnnotationSupport.findAnnotation(e, Boot.class);
    }

    static KernelConfig config(Boot b) {
        return KernelConfig.builder()
                .memory(b.memory())
                .cpus(b.cpus())
                .lockdep(b.lockdep())
                .slubDebug(b.slubDebug())
                .watchdog(b.watchdog())
                .hungTaskPanic(b.hungTaskPanic())
                .hungTaskTimeoutMillis(b.hungTaskTimeoutMillis())
                .hungTaskScanMillis(b.hungTaskScanMillis())
                .kswapd(b.kswapd())
                .minFreeKbytes(b.minFreeKbytes())
                .version(KernelVersion.parse(b.version()))
                .build();
    }
}
