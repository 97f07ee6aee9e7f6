package dev.reclaimlab.cli;

import dev.reclaimlab.scenario.FakeScenario;

/** The child JVM of {@code stress --fork} in tests: the command line with the fake scenario only. */
public final class FakeChildMain {
    private FakeChildMain() {
    }

    public static void main(String[] args) {
        System.exit(new Main(FakeScenario.all(), System.out, System.err).execute(args));
    }
}
