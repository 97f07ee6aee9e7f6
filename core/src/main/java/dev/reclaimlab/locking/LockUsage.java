package dev.reclaimlab.locking;

/**
 * enum lock_usage_bit (kernel/locking/lockdep_internals.h, lockdep_states.h): per state four bits, in the
 * kernel's order USED_IN, USED_IN_READ, ENABLED, ENABLED_READ, then LOCK_USED. 3.14 and 4.3 have three
 * states (HARDIRQ, SOFTIRQ, RECLAIM_FS); 4.14 removed RECLAIM_FS (d92a8cfcb37e), so 5.3 prints four usage
 * characters instead of six. The emulator has no interrupts: no lock is ever USED_IN_HARDIRQ/SOFTIRQ, and
 * every acquisition counts as taken with interrupts enabled.
 */
final class LockUsage {
    static final int HARDIRQ = 0;
    static final int SOFTIRQ = 1;
    static final int RECLAIM_FS = 2;

    static final int USED_IN = 0;
    static final int USED_IN_READ = 1;
    static final int ENABLED = 2;
    static final int ENABLED_READ = 3;

    static final int USED_IN_RECLAIM_FS = bit(RECLAIM_FS, USED_IN);
    static final int USED_IN_RECLAIM_FS_READ = bit(RECLAIM_FS, USED_IN_READ);
    static final int ENABLED_RECLAIM_FS = bit(RECLAIM_FS, ENABLED);
    static final int ENABLED_RECLAIM_FS_READ = bit(RECLAIM_FS, ENABLED_READ);
    /** LOCK_USED: after the states (12 with RECLAIM_FS; the emulator keeps one layout). */
    static final int LOCK_USED = 12;
    static final int NR_BITS = 13;

    private static final String[] STATE_NAMES = {"HARDIRQ", "SOFTIRQ", "RECLAIM_FS"};

    private LockUsage() {
    }

    static int bit(int state, int kind) {
        return state * 4 + kind;
    }

    /** exclusive_bit(): the same state, the other direction, write. */
    static int exclusiveBit(int newBit) {
        int state = newBit & ~3;
        int dir = newBit & 2;
        return state | (dir ^ 2);
    }

    /** usage_str[]: "IN-RECLAIM_FS-W", "RECLAIM_FS-ON-R", ...; "INITIAL USE" for LOCK_USED. */
    static String usageStr(int bit) {
        if (bit == LOCK_USED) {
            return "INITIAL USE";
        }
        String s = STATE_NAMES[bit >> 2];
        switch (bit & 3) {
            case USED_IN:
                return "IN-" + s + "-W";
            case USED_IN_READ:
                return "IN-" + s + "-R";
            case ENABLED:
                return s + "-ON-W";
            default:
                return s + "-ON-R";
        }
    }

    /** state_name(): "RECLAIM_FS", or "RECLAIM_FS-READ" for a read bit. */
    static String stateName(int bit) {
        return (bit & 1) != 0 ? STATE_NAMES[bit >> 2] + "-READ" : STATE_NAMES[bit >> 2];
    }

    /** get_usage_chars(): two characters per state, write then read; {@code states} is 3 or 2. */
    static String usageChars(int mask, int states) {
        char[] c = new char[states * 2];
        int i = 0;
        for (int s = 0; s < states; s++) {
            c[i++] = usageChar(mask, bit(s, USED_IN));
            c[i++] = usageChar(mask, bit(s, USED_IN_READ));
        }
        return new String(c);
    }

    /** get_usage_char(): '.', '+' (ENABLED), '-' (USED_IN) or '?' (both). */
    private static char usageChar(int mask, int bit) {
        boolean enabled = (mask & (1 << (bit + 2))) != 0;
        boolean usedIn = (mask & (1 << bit)) != 0;
        return usedIn ? (enabled ? '?' : '-') : (enabled ? '+' : '.');
    }
}
