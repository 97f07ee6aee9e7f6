/**
 * kernel/locking and kernel/sched/wait.c: the emulator's locks, completions, wait queues, bit waits and
 * throttles, lockdep, and the wait-record protocol every one of them follows (DESIGN.md rules 2 and 10).
 *
 * <p>The wait-record protocol. A task that must wait goes through {@link dev.reclaimlab.locking.Sleep}:
 * <ol>
 * <li>it publishes its {@link dev.reclaimlab.locking.WaitRecord} (what it waits on, the kind of primitive,
 *     its sleep state: D, killable, interruptible, or spinning; since when; its deadline if timed) and joins
 *     the primitive's {@link dev.reclaimlab.locking.WaitList};</li>
 * <li>it loops: set the task state, test the condition inside the record's seqlock bracket (clearing the
 *     record inside it on success), schedule; a fatal signal ends a killable wait, a deadline a timed one;</li>
 * <li>on every way out, a panic's unwinding included, it leaves the list and clears the record.</li>
 * </ol>
 * Spinners publish after a short spin and open the bracket only when the lock looks free. A primitive
 * supplies the condition and, as a {@link dev.reclaimlab.locking.Waitable}, who can end the wait:
 * any one of some tasks, all of them ({@code WakerSink.all()}, an rwsem's readers), someone not yet
 * running ({@code WakerSink.open}), or nobody known. The watchdog reads records with
 * {@link dev.reclaimlab.locking.WaitRecord#snapshot()} and proves nothing from a timed, woken, open or
 * unknown wait.
 *
 * <p>Lock classes are static {@link dev.reclaimlab.locking.LockClassKey}s; lockdep state lives per kernel
 * and behaves as the booted version's (the reclaim annotation, read rules, names and report text; see
 * {@link dev.reclaimlab.locking.Lockdep}). A primitive reports each acquisition with lock_acquire()'s
 * read argument as the kernel passes it: 0 exclusive, 1 for down_read(), 2 only for a recursive read.
 * Every sleeping acquisition is a might_sleep() point, contended or not. Reports are immutable records
 * ({@link dev.reclaimlab.locking.LockdepReport}) whose text() is the kernel's; JSON is written outside core.
 */
package dev.reclaimlab.locking;
