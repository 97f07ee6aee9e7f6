package dev.reclaimlab.scenario;

import java.util.List;

/** The scenarios the command line offers, in the order DESIGN.md lists the seed rows. */
public final class Scenarios {
    private Scenarios() {
    }

    public static List<Scenario> all() {
        return List.of(new XfsOnLoop(), new XfsIlockFalsePositive(), new KswiodNbd(), new LoopbackNfs(),
                new LoopbackNfsThrottle());
    }

    public static Scenario byName(String name) {
        for (Scenario s : all()) {
            if (s.name().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("no scenario '" + name + "'; try 'reclaimlab list'");
    }
}
