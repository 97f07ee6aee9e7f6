package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.UsageException;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** Seed lists as users write them: "1..200", "1,5,9", "1..10,20..25,99"; each seed once, in order given. */
public final class Seeds {
    /** More runs than this in one list is a typo (1..10000000), not a campaign. */
    static final long MAX_SEEDS = 1_000_000;

    private Seeds() {
    }

    public static List<Long> parse(String spec) {
        if (spec == null || spec.isBlank()) {
            throw new UsageException("empty seed list");
        }
        Set<Long> seeds = new LinkedHashSet<>();
        for (String part : spec.split(",", -1)) {
            String p = part.strip();
            int dots = p.indexOf("..");
            if (dots < 0) {
                seeds.add(number(p, spec));
                continue;
            }
            long from = number(p.substring(0, dots), spec);
            long to = number(p.substring(dots + 2), spec);
            if (to < from) {
                throw new UsageException("bad seed range '" + p + "': " + to + " is before " + from);
            }
            if (to - from + 1 > MAX_SEEDS || seeds.size() + (to - from + 1) > MAX_SEEDS) {
                throw new UsageException("bad seed range '" + p + "': more than " + MAX_SEEDS + " seeds");
            }
            for (long s = from; s <= to; s++) {
                seeds.add(s);
            }
        }
        return new ArrayList<>(seeds);
    }

    private static long number(String s, String spec) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("bad seed list '" + spec + "': '" + s.strip() + "' is not a number"
                    + " (write seeds as 1..200 or 1,5,9)");
        }
    }
}
