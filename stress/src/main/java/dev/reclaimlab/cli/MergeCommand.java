package dev.reclaimlab.cli;

import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "merge", mixinStandardHelpOptions = true, versionProvider = Main.Version.class)
final class MergeCommand implements Callable<Integer> {
    private final Cli cli;

    MergeCommand(Cli cli) {
        this.cli = cli;
    }

    @Override
    public Integer call() {
        throw new UsageException("not yet " + cli.scenarios().size());
    }
}
