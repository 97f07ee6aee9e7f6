package dev.reclaimlab.cli;

import dev.reclaimlab.cli.harness.ForkExecutor;
import dev.reclaimlab.scenario.FakeScenario;
import dev.reclaimlab.scenario.Scenario;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Runs the command line in this JVM with given scenarios and environment, capturing its output. */
final class Runs {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();
    final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final List<Scenario> scenarios;
    private final Map<String, String> env;

    Runs(List<Scenario> scenarios, Map<String, String> env) {
        this.scenarios = scenarios;
        this.env = env;
    }

    static Runs fake() {
        return new Runs(FakeScenario.all(), Map.of());
    }

    int main(String... args) {
        out.reset();
        err.reset();
        return new Main(scenarios, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env,
                ForkExecutor.Child.likeThisJvm(FakeChildMain.class.getName())).execute(args);
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }
}
