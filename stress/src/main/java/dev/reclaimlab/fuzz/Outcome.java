package dev.reclaimlab.fuzz;

/** What became of one fuzz call. The bad ones are findings; a clean run has none. */
public enum Outcome {
    OK(false, "a valid call succeeded"),
    ERROR(false, "a valid call failed the documented way (NULL, -1, -ENOMEM, -EIO, a short count)"),
    REJECTED(false, "bad input refused: a clear exception naming the object and the reason, or an errno"),
    INTERNAL(true, "an internal exception leaked (NullPointerException, ArrayIndexOutOfBounds, ...)"),
    ACCEPTED(true, "bad input silently accepted"),
    REFUSED(true, "a valid call refused with an exception"),
    CORRUPT(true, "a valid call returned wrong data"),
    CRASH(true, "the JVM died"),
    HANG(true, "a call never returned");

    private final boolean bad;
    private final String meaning;

    Outcome(boolean bad, String meaning) {
        this.bad = bad;
        this.meaning = meaning;
    }

    public boolean bad() {
        return bad;
    }

    public String meaning() {
        return meaning;
    }
}
