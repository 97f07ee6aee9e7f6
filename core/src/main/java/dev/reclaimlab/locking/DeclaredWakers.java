package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

/**
 * Who a completion or wait queue is owed by, as its code declares it: one task (a bio's completion by the
 * device worker holding the bio), a set any of which can end it, or a {@link Waitable} asked each time
 * (a queued work is owed by whatever its pool can run it with). Declarations replace each other; a
 * reader in between sees the old or the new one, never none.
 */
final class DeclaredWakers {
    private static final Task[] NONE = new Task[0];

    /** What one declaration says; swapped whole, so a reader sees one consistent declaration. */
    private record Decl(Task one, Task[] many, Waitable from) {
    }

    private static final Decl EMPTY = new Decl(null, NONE, null);

    private volatile Decl decl = EMPTY;

    void expect(Task t) {
        decl = new Decl(t, NONE, null);
    }

    void expectAll(Task[] ts) {
        decl = new Decl(null, ts.length == 0 ? NONE : ts.clone(), null);
    }

    void expectFrom(Waitable source) {
        decl = new Decl(null, NONE, source);
    }

    void clear() {
        decl = EMPTY;
    }

    void addTo(WakerSink out) {
        Decl d = decl;
        out.add(d.one);
        for (Task x : d.many) {
            out.add(x);
        }
        if (d.from != null) {
            d.from.wakers(out);
        }
    }
}
