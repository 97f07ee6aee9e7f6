/**
 * JFR events of the emulated kernels, as the kernel's tracepoints (include/trace/events): waits longer than
 * a threshold, reclaim passes, throttle sleeps, and watchdog and lockdep reports. Record a run with
 * {@code RECLAIMLAB_JAVA_OPTS=-XX:StartFlightRecording=filename=run.jfr} and open it in JDK Mission Control.
 *
 * <p>Conventions. Events are emitted only from slow paths (a task about to sleep, a reclaim pass, a
 * report), never from an allocation or lock fast path; when JFR is not recording an event costs a begin and
 * an isEnabled test.
 */
package dev.reclaimlab.trace;
