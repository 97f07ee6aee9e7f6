package dev.reclaimlab.testkit;

import dev.reclaimlab.kernel.KernelConfig;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The boot parameters {@link KernelExtension} boots a test's {@code Kernel} with. On a method it replaces
 * the one on the class whole (attributes are not merged). Every default is {@link KernelConfig#defaults()}'s
 * (TestKitTest checks they stay equal), so an attribute is written only where a test departs from a default
 * kernel. Fixes are not attributes: a test that needs one boots through {@link Kernels}, which starts from
 * this annotation.
 */
@Documented
@Inherited
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface Boot {
    /** mem=, as {@link KernelConfig#memparse} reads it. */
    String memory() default "64m";

    int cpus() default 2;

    boolean lockdep() default true;

    boolean slubDebug() default false;

    /** Whether boot starts khungtaskd. */
    boolean watchdog() default true;

    boolean hungTaskPanic() default true;

    long hungTaskTimeoutMillis() default 2_000;

    long hungTaskScanMillis() default 250;

    boolean kswapd() default true;

    /** vm.min_free_kbytes; 0 derives it. */
    long minFreeKbytes() default 0;

    /** The Linux release, as {@link dev.reclaimlab.kernel.KernelVersion#parse} reads it. */
    String version() default "4.3";
}
