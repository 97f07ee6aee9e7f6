package dev.reclaimlab.fuzz;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.SynchronousQueue;

/**
 * The thread a 2.2 process of the fuzz runs on: its own task, so an OOM kill ends that process only, and the
 * fuzz's next process starts on a fresh thread with a task that was never killed. Calls are handed over one at
 * a time and waited for; what a call throws is thrown to the caller as it was.
 */
final class ProcessThread {
    private static final FutureTask<Harness.Res> STOP = new FutureTask<>(() -> null);

    private final SynchronousQueue<FutureTask<Harness.Res>> queue = new SynchronousQueue<>();
    private final Thread thread;

    ProcessThread(String name) {
        thread = new Thread(() -> {
            for (;;) {
                FutureTask<Harness.Res> f;
                try {
                    f = queue.take();
                } catch (InterruptedException e) {
                    return;
                }
                if (f == STOP) {
                    return;
                }
                f.run();
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Runs {@code a} on this thread and returns its result, or throws what it threw. */
    Harness.Res run(Harness.Action a) throws Exception {
        FutureTask<Harness.Res> f = new FutureTask<>(a::run);
        queue.put(f);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof Exception) {
                throw (Exception) c;
            }
            if (c instanceof Error) {
                throw (Error) c;
            }
            throw e;
        }
    }

    /** Ends the thread once it has finished the call it is in. */
    void stop() throws InterruptedException {
        queue.put(STOP);
        thread.join();
    }
}
