package dev.reclaimlab.swap;

/** A user access that 2.2 would end with a signal: SIGSEGV (no mapping), SIGBUS (beyond the file), OOM. */
public final class UserFault extends RuntimeException {
    private final String signal;

    public UserFault(String signal, String message) {
        super(signal + ": " + message);
        this.signal = signal;
    }

    /** "SIGSEGV", "SIGBUS" or "SIGKILL" (the OOM kill). */
    public String signal() {
        return signal;
    }
}
