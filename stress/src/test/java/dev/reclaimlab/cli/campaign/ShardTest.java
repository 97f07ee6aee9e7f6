package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.UsageException;
import dev.reclaimlab.scenario.Outcome;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShardTest {
    private static RunSpec run(long seed) {
        return new RunSpec("xfs-on-loop", "linux-4.3-rc3", Outcome.DEADLOCK, seed, 10, 64L << 20);
    }

    @Test
    void everyRunIsInExactlyOneShardAndTheShardsAreBalanced() {
        int[] sizes = new int[4];
        for (long s = 1; s <= 4000; s++) {
            int in = 0;
            for (int i = 1; i <= 4; i++) {
                if (new Shard(i, 4).contains(run(s))) {
                    in++;
                    sizes[i - 1]++;
                }
            }
            assertThat(in).isEqualTo(1);
        }
        for (int n : sizes) {
            assertThat(n).isBetween(900, 1100);
        }
    }

    @Test
    void theAssignmentIsAFunctionOfTheRunAloneAndStableAcrossVersions() {
        // FNV-1a of the key: pinned, so shards of one campaign run by two builds never overlap.
        assertThat(Shard.fnv1a("xfs-on-loop/linux-4.3-rc3/1")).isEqualTo(Shard.fnv1a("xfs-on-loop/linux-4.3-rc3/1"));
        assertThat(Shard.fnv1a("")).isEqualTo(0xcbf29ce484222325L);
        assertThat(Shard.fnv1a("a")).isEqualTo(0xaf63dc4c8601ec8cL);
    }

    @Test
    void theEnvironmentOfAnIndexedJobOrASlurmArrayPicksTheShard() {
        assertThat(Shard.fromEnvironment(Map.of("JOB_COMPLETION_INDEX", "0"), 4)).isEqualTo(new Shard(1, 4));
        assertThat(Shard.fromEnvironment(Map.of("JOB_COMPLETION_INDEX", "3", "RECLAIMLAB_SHARDS", "4"), null))
                .isEqualTo(new Shard(4, 4));
        assertThat(Shard.fromEnvironment(Map.of("SLURM_ARRAY_TASK_ID", "0", "SLURM_ARRAY_TASK_COUNT", "8"), null))
                .isEqualTo(new Shard(1, 8));
        assertThat(Shard.fromEnvironment(Map.of("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "1",
                "SLURM_ARRAY_TASK_COUNT", "8"), null)).isEqualTo(new Shard(5, 8));
        assertThat(Shard.fromEnvironment(Map.of(), null)).isEqualTo(Shard.ALL);
        assertThatThrownBy(() -> Shard.fromEnvironment(Map.of(), 4)).isInstanceOf(UsageException.class);
    }

    @Test
    void seedListsAreRangesAndListsEachSeedOnce() {
        assertThat(Seeds.parse("1..3,7,2,9..10")).containsExactly(1L, 2L, 3L, 7L, 9L, 10L);
        assertThat(Seeds.parse(" 5 ")).containsExactly(5L);
        List<Long> big = new ArrayList<>(Seeds.parse("1..200"));
        assertThat(big).hasSize(200).startsWith(1L).endsWith(200L);
    }
}
