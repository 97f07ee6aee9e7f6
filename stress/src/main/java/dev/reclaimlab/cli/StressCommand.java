package dev.reclaimlab.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "stress", mixinStandardHelpOptions = true, versionProvider = Main.Version.class)
final class StressCommand implements Callable<Integer> {
    private final Cli cli;

    StressCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        throw new UsageException("not yet " + cli.scenarios().size());
    }
}
