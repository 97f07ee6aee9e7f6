package dev.reclaimlab.kernel;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FixTest {
    private static final Fix LANDED_IN_4_7 = Fix.declare("fixtest_landed_4_7", "a behaviour 4.7 introduced",
            "none: a test declaration", new KernelVersion(4, 7));
    private static final Fix NEVER_LANDED = Fix.declare("fixtest_rfc", "an RFC that never landed",
            "none: a test declaration", null);

    @Test
    void aFixComesWithTheReleaseItLandedInAndLaterOnes() {
        assertThat(KernelConfig.builder().version(KernelVersion.V4_3).build().has(LANDED_IN_4_7)).isFalse();
        assertThat(KernelConfig.builder().version(new KernelVersion(4, 7)).build().has(LANDED_IN_4_7)).isTrue();
        assertThat(KernelConfig.builder().version(KernelVersion.V5_3).build().has(LANDED_IN_4_7)).isTrue();
        assertThat(KernelConfig.builder().version(KernelVersion.V5_3).build().has(NEVER_LANDED)).isFalse();
    }

    @Test
    void withAndWithoutOverrideTheReleaseAndTheLastOneWins() {
        KernelConfig c = KernelConfig.builder().version(KernelVersion.V5_3).without(LANDED_IN_4_7).with(NEVER_LANDED)
                .build();
        assertThat(c.has(LANDED_IN_4_7)).isFalse();
        assertThat(c.has(NEVER_LANDED)).isTrue();
        assertThat(c.toString()).startsWith("linux-5.3 ").contains(" +fixtest_rfc", " -fixtest_landed_4_7");
        KernelConfig back = c.toBuilder().with(LANDED_IN_4_7).without(NEVER_LANDED).build();
        assertThat(back.has(LANDED_IN_4_7)).isTrue();
        assertThat(back.has(NEVER_LANDED)).isFalse();
        assertThat(back.fixes()).containsExactly(LANDED_IN_4_7);
        assertThat(back.withoutFixes()).containsExactly(NEVER_LANDED);
        assertThat(c.toBuilder().build().has(NEVER_LANDED)).isTrue();
    }

    @Test
    void fixesAreFoundByNameAndNamesAreKernelStyleAndUnique() {
        assertThat(Fix.byName("fixtest_rfc")).isSameAs(NEVER_LANDED);
        assertThatThrownBy(() -> Fix.byName("nope")).hasMessageContaining("no fix 'nope'")
                .hasMessageContaining("fixtest_rfc");
        assertThatThrownBy(() -> Fix.declare("fixtest_rfc", "again", "none", null))
                .hasMessageContaining("declared twice");
        assertThatThrownBy(() -> Fix.declare("Bad-Name", "x", "none", null)).hasMessageContaining("kernel-style");
        assertThatThrownBy(() -> Fix.declare("fixtest_nopatch", "x", " ", null)).hasMessageContaining("patch");
    }

    @Test
    void versionsParseAndOrderAsTheKernelOrdersThem() {
        assertThat(KernelVersion.parse("v4.3-rc3")).isEqualTo(KernelVersion.V4_3);
        assertThat(KernelVersion.parse("3.14.1")).isGreaterThan(KernelVersion.V3_14);
        assertThat(KernelVersion.parse("2.2.2-pre2")).isGreaterThan(KernelVersion.V2_2)
                .isEqualTo(new KernelVersion(2, 2, 2)).hasToString("2.2.2");
        assertThat(KernelVersion.V2_2).hasToString("2.2.1");
        assertThat(KernelVersion.V3_14).isGreaterThan(KernelVersion.V2_2).isLessThan(KernelVersion.V4_3);
        assertThat(KernelVersion.parse("4.10")).isGreaterThan(KernelVersion.parse("4.9"));
        assertThatThrownBy(() -> KernelVersion.parse("four")).hasMessageContaining("MAJOR.MINOR");
        assertThatThrownBy(() -> KernelVersion.parse("4")).hasMessageContaining("MAJOR.MINOR");
    }
}
