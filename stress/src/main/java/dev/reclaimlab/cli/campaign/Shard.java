package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.UsageException;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The I-th of N disjoint slices of a campaign (1-based, as --shard 2/4 reads). A run belongs to the shard
 * its key (scenario/variant/seed) hashes to, so a run's shard does not depend on what else the campaign
 * holds, and the same run lands on the same shard on every machine.
 */
public record Shard(int index, int count) {
    public static final Shard ALL = new Shard(1, 1);

    public Shard {
        if (count < 1) {
            throw new UsageException("shard count must be at least 1, not " + count);
        }
        if (index < 1 || index > count) {
            throw new UsageException("shard " + index + "/" + count + " is out of range: the index runs from 1 to "
                    + count);
        }
    }

    /** "2/4". */
    public static Shard parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new UsageException("bad shard '" + text + "': write it as I/N, e.g. 2/4");
        }
        return new Shard(number(text, text.substring(0, slash)), number(text, text.substring(slash + 1)));
    }

    /**
     * The shard a batch scheduler gave this process: a Kubernetes Indexed Job's JOB_COMPLETION_INDEX
     * (0-based; the count is the Job's completions, which the pod does not see: {@code shards} or
     * RECLAIMLAB_SHARDS), or a Slurm array's SLURM_ARRAY_TASK_ID counted from SLURM_ARRAY_TASK_MIN, of
     * SLURM_ARRAY_TASK_COUNT. {@link #ALL} when neither is set.
     */
    public static Shard fromEnvironment(Map<String, String> env, Integer shards) {
        String k8s = env.get("JOB_COMPLETION_INDEX");
        if (k8s != null) {
            Integer n = shards != null ? shards : env.containsKey("RECLAIMLAB_SHARDS")
                    ? number("RECLAIMLAB_SHARDS", env.get("RECLAIMLAB_SHARDS")) : null;
            if (n == null) {
                throw new UsageException("JOB_COMPLETION_INDEX=" + k8s + " is set but not the shard count: pass"
                        + " --shards N (the Job's completions) or set RECLAIMLAB_SHARDS");
            }
            return new Shard(number("JOB_COMPLETION_INDEX", k8s) + 1, n);
        }
        String slurm = env.get("SLURM_ARRAY_TASK_ID");
        if (slurm != null) {
            String count = env.get("SLURM_ARRAY_TASK_COUNT");
            if (count == null && shards == null) {
                throw new UsageException("SLURM_ARRAY_TASK_ID=" + slurm + " is set but not SLURM_ARRAY_TASK_COUNT");
            }
            int min = env.containsKey("SLURM_ARRAY_TASK_MIN")
                    ? number("SLURM_ARRAY_TASK_MIN", env.get("SLURM_ARRAY_TASK_MIN")) : 0;
            int n = shards != null ? shards : number("SLURM_ARRAY_TASK_COUNT", count);
            return new Shard(number("SLURM_ARRAY_TASK_ID", slurm) - min + 1, n);
        }
        if (shards != null) {
            throw new UsageException("--shards " + shards + " needs JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID;"
                    + " use --shard I/N to pick a shard by hand");
        }
        return ALL;
    }

    public boolean contains(RunSpec run) {
        return count == 1 || Long.remainderUnsigned(fnv1a(run.key()), count) == index - 1;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }

    /** FNV-1a, 64 bits: stable across JVMs and versions, unlike String.hashCode's contract. */
    static long fnv1a(String key) {
        long h = 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static int number(String what, String s) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            throw new UsageException("bad shard '" + what + "': '" + s + "' is not a number");
        }
    }
}
