package dev.reclaimlab.locking;

import dev.reclaimlab.kernel.Task;

/**
 * The hashed bit wait queues of kernel/sched/wait.c (bit_waitqueue(), wait_on_bit(), wait_on_bit_lock(),
 * wake_up_bit()) and mm/filemap.c's page wait table: sleepers on a bit of a word queue on one of a fixed
 * number of buckets chosen by a key, and a wake-up of any bit in a bucket wakes all of them; each
 * rechecks its own bit. Callers clear the bit with a full barrier before {@link #wakeUpBit}.
 */
public final class BitWaitTable {
    private final WaitList[] buckets;
    private final int shift;

    /** A table of 2^{@code bits} buckets. */
    public BitWaitTable(int bits) {
        if (bits < 1 || bits > 16) {
            throw new IllegalArgumentException("BitWaitTable: " + bits + " hash bits is outside [1, 16]");
        }
        this.buckets = new WaitList[1 << bits];
        for (int i = 0; i < buckets.length; i++) {
            buckets[i] = new WaitList();
        }
        this.shift = 64 - bits;
    }

    private WaitList bucket(long key) {
        return buckets[(int) ((key * 0x9E3779B97F4A7C15L) >>> shift)];
    }

    /**
     * wait_on_bit(): sleeps in {@code state} until {@code bit} of {@code word} is clear. {@code key} chooses
     * the bucket (a pfn, an object's identity). Returns {@link Sleep#DONE}, {@link Sleep#TIMED_OUT} or
     * {@link Sleep#KILLED}.
     */
    public int waitOnBit(Task t, long key, BitWord word, int bit, int state, long timeoutNanos) {
        if (!word.testBit(bit)) {
            return Sleep.DONE;
        }
        t.mightSleep("wait_on_bit");
        return Sleep.sleep(t, new BitWait(word, bit), WaitKind.BIT, state, timeoutNanos, bucket(key),
                () -> !word.testBit(bit));
    }

    /** wait_on_bit_lock(): sleeps until this task is the one that sets {@code bit}. */
    public int waitOnBitLock(Task t, long key, BitWord word, int bit, int state, long timeoutNanos) {
        if (!word.testAndSetBit(bit)) {
            return Sleep.DONE;
        }
        t.mightSleep("wait_on_bit_lock");
        return Sleep.sleep(t, new BitWait(word, bit), WaitKind.BIT, state, timeoutNanos, bucket(key),
                () -> !word.testAndSetBit(bit));
    }

    /** wake_up_bit(): after the bit was cleared. */
    public void wakeUpBit(long key) {
        bucket(key).wakeAll();
    }

    /** One task's wait for one bit, as the watchdog sees it. */
    private static final class BitWait implements Waitable {
        private final BitWord word;
        private final int bit;

        BitWait(BitWord word, int bit) {
            this.word = word;
            this.bit = bit;
        }

        @Override
        public String name() {
            return word.bitName(bit);
        }

        @Override
        public void wakers(WakerSink out) {
            word.bitWakers(bit, out);
        }

        @Override
        public String toString() {
            return "bit " + name();
        }
    }
}
