/**
 * The shared test kit: how a test boots, waits for and closes kernels. Core's test jar carries it to the
 * emulator's and stress's tests.
 *
 * <p>Conventions:
 * <ul>
 *   <li>A test that needs a kernel takes it as a parameter under {@code @ExtendWith(KernelExtension.class)}:
 *       {@code Kernel} booted from the nearest {@link dev.reclaimlab.testkit.Boot} (method, then class),
 *       {@code Kernels} for configs the test computes. Fix on/off is a {@code @ParameterizedTest} over
 *       {@code @ValueSource(booleans = {false, true})} that boots through {@code Kernels}.</li>
 *   <li>The test thread is attached to every kernel the kit boots (it is {@code currentTask()}); the most
 *       recently booted kernel is the one {@code Task.current()} answers for.</li>
 *   <li>Every kernel booted for a test is closed after it, newest first, also when the test fails; a kernel
 *       that still holds off-heap memory after close() fails the test. A test may close a kernel itself to
 *       assert on the closed kernel.</li>
 *   <li>Waits without an event to wait on go through {@link dev.reclaimlab.testkit.Await}: they spin and
 *       yield, never sleep, and time out with a message naming what they waited for. Anything with an
 *       event (a latch, a completion) waits on the event instead.</li>
 *   <li>Every test class that starts threads keeps its own {@code @Timeout}; the build's default timeout
 *       (surefire's {@code configurationParameters} in the root pom) only stops a hang.</li>
 * </ul>
 */
package dev.reclaimlab.testkit;
