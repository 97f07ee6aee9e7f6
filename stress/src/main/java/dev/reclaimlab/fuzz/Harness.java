package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.VfsException;
import dev.reclaimlab.fs.ext2.Ext2Exception;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.SlabError;
import dev.reclaimlab.swap.UserFault;

/**
 * Makes one call and classifies it. A valid call succeeds (OK), fails the documented way (ERROR: an error
 * value, or a VfsException with an errno the call may give under memory pressure or fault injection), or
 * is a finding (REFUSED, INTERNAL, CORRUPT). An invalid call is refused (REJECTED: a clear exception thrown
 * by the emulator's own check, or the call's error value) or is a finding (ACCEPTED, INTERNAL).
 */
final class Harness {
    /** The result of an action that returned. */
    enum Res { SUCCESS, ERROR }

    interface Action {
        Res run() throws Exception;
    }

    /** Thrown by an action whose valid call returned wrong data. */
    static final class Corrupt extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Corrupt(String what) {
            super(what);
        }
    }

    /** Errnos a valid call may fail with: memory, IO, space. */
    static final long VALID_ERRNOS = bit(Errno.ENOMEM) | bit(Errno.EIO) | bit(Errno.ENOSPC);

    final CallLog log;
    final FuzzStats stats;
    long calls;

    Harness(CallLog log, FuzzStats stats) {
        this.log = log;
        this.stats = stats;
    }

    static long bit(int errno) {
        return 1L << errno;
    }

    Outcome call(Kernel k, String op, boolean valid, String args, Action a) {
        return call(k, op, valid, args, VALID_ERRNOS, a);
    }

    /** One call of {@code op}: logged before it runs, classified after. */
    Outcome call(Kernel k, String op, boolean valid, String args, long validErrnos, Action a) {
        long n = ++calls;
        String desc = op + "(" + args + ")" + (valid ? "" : " [invalid]");
        log.begin(n, desc);
        if (k != null && !k.isClosed()) {
            k.currentTask();
        }
        Outcome o;
        String why = null;
        long t0 = System.nanoTime();
        try {
            Res r = a.run();
            if (valid) {
                o = r == Res.SUCCESS ? Outcome.OK : Outcome.ERROR;
            } else {
                o = r == Res.ERROR ? Outcome.REJECTED : Outcome.ACCEPTED;
                why = "returned " + r;
            }
        } catch (Corrupt c) {
            o = Outcome.CORRUPT;
            why = c.getMessage();
        } catch (Throwable t) {
            why = t.toString() + " at " + (t.getStackTrace().length > 0 ? t.getStackTrace()[0] : "?");
            if (!clear(t)) {
                o = Outcome.INTERNAL;
            } else if (!valid) {
                o = Outcome.REJECTED;
            } else if (t instanceof UserFault && "SIGKILL".equals(((UserFault) t).signal())) {
                // 2.2.1 OOM-kills a process whose fault finds reclaim freed nothing: a documented failure.
                o = Outcome.ERROR;
            } else if (t instanceof VfsException && (validErrnos & bit(((VfsException) t).errno())) != 0
                    || t instanceof Ext2Exception && (validErrnos & bit(((Ext2Exception) t).errno())) != 0) {
                o = Outcome.ERROR;
            } else {
                o = Outcome.REFUSED;
            }
        }
        stats.record(op, o, System.nanoTime() - t0);
        if (o.bad()) {
            stats.example(o, n, desc, why);
        }
        return o;
    }

    /**
     * A clear rejection: the emulator's own exception (VfsException, SlabError) or an
     * IllegalArgument/IllegalState/IndexOutOfBounds exception with a message, thrown by dev.reclaimlab code
     * (so not a JDK collection's index check). Everything else leaked from inside.
     */
    static boolean clear(Throwable t) {
        if (t instanceof VfsException || t instanceof SlabError || t instanceof Ext2Exception) {
            return t.getMessage() != null;
        }
        if (t instanceof UserFault) {
            // 2.2's signals: SIGSEGV for a user access with no mapping, SIGKILL for the OOM kill, documented.
            String sig = ((UserFault) t).signal();
            return "SIGSEGV".equals(sig) || "SIGKILL".equals(sig);
        }
        Class<?> c = t.getClass();
        if (c != IllegalArgumentException.class && c != IllegalStateException.class
                && c != IndexOutOfBoundsException.class) {
            return false;
        }
        StackTraceElement[] st = t.getStackTrace();
        return t.getMessage() != null && !t.getMessage().isBlank() && st.length > 0
                && st[0].getClassName().startsWith("dev.reclaimlab.");
    }
}
