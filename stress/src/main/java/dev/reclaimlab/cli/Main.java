package dev.reclaimlab.cli;

import dev.reclaimlab.cli.harness.ForkExecutor;
import dev.reclaimlab.scenario.Scenario;
import dev.reclaimlab.scenario.Scenarios;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * The {@code reclaimlab} command line (picocli): {@code list}, {@code run}, {@code stress}, {@code merge},
 * {@code help}. Exit status: 0 when every run had its expected outcome, 1 when one did not, 2 for bad input,
 * which is reported in one line naming the command and the reason.
 */
public final class Main {
    static final int EXIT_USAGE = 2;

    private final Cli cli;
    private final Map<String, String> env;
    private final ForkExecutor.Child child;

    /**
     * @param env   where shard indices come from (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID)
     * @param child how {@code stress --fork} starts a run's JVM
     */
    Main(List<Scenario> scenarios, PrintStream out, PrintStream err, Map<String, String> env,
         ForkExecutor.Child child) {
        this.cli = new Cli(scenarios, out, err);
        this.env = Map.copyOf(env);
        this.child = child;
    }

    Main(List<Scenario> scenarios, PrintStream out, PrintStream err) {
        this(scenarios, out, err, System.getenv(), ForkExecutor.Child.likeThisJvm(Main.class.getName()));
    }

    public static void main(String[] args) {
        System.exit(new Main(Scenarios.all(), System.out, System.err).execute(args));
    }

    int execute(String[] args) {
        return commandLine().execute(args);
    }

    CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Top())
                .addSubcommand(new ListCommand(cli))
                .addSubcommand(new RunCommand(cli))
                .addSubcommand(new StressCommand(cli, env, child))
                .addSubcommand(new MergeCommand(cli))
                .addSubcommand(new CommandLine.HelpCommand());
        cl.setOut(new PrintWriter(cli.out(), true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(cli.err(), true, StandardCharsets.UTF_8));
        cl.setParameterExceptionHandler((e, args) -> usage(e.getCommandLine(), e.getMessage()));
        cl.setExecutionExceptionHandler((e, c, parsed) -> {
            if (e instanceof UsageException) {
                return usage(c, e.getMessage());
            }
            if (e instanceof UncheckedIOException) {
                cli.err().println(c.getCommandSpec().qualifiedName() + ": " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cl;
    }

    /** One line: "reclaimlab run: --seconds must be positive, not 0 (see 'reclaimlab run --help')". */
    private int usage(CommandLine c, String message) {
        String name = c.getCommandSpec().qualifiedName();
        String first = message == null ? "bad arguments" : message.lines().findFirst().orElse("bad arguments");
        cli.err().println(name + ": " + first + " (see '" + name + " --help')");
        return EXIT_USAGE;
    }

    @Command(name = "reclaimlab", mixinStandardHelpOptions = true, versionProvider = Version.class,
            description = "An emulated Linux kernel on real Java threads: run memory-reclaim deadlock scenarios,"
                    + " one at a time or as stress campaigns.")
    static final class Top implements Callable<Integer> {
        @Override
        public Integer call() {
            throw new UsageException("no command: use list, run, stress, merge or help");
        }
    }

    /** --version: the build's version from the jar's manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"reclaimlab " + (v == null ? "(development build)" : v)};
        }
    }
}
