package dev.reclaimlab.fs.xfs;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class XfsIextTest {

    @Test
    void contiguousBlocksMergeIntoOneExtentAndHolesStayHoles() {
        XfsIext x = new XfsIext();
        x.insert(10, 100);
        x.insert(12, 102);
        assertThat(x.nextents()).isEqualTo(2);
        x.insert(11, 101);
        assertThat(x.nextents()).as("the middle block joins both neighbours").isEqualTo(1);
        x.insert(9, 99);
        x.insert(13, 500);
        assertThat(x.nextents()).as("contiguous in the file but not on disk").isEqualTo(2);
        assertThat(x.lookup(9)).isEqualTo(99);
        assertThat(x.lookup(12)).isEqualTo(102);
        assertThat(x.lookup(13)).isEqualTo(500);
        assertThat(x.lookup(8)).isEqualTo(XfsIext.HOLE);
        assertThat(x.lookup(14)).isEqualTo(XfsIext.HOLE);
        assertThat(x.nblocks()).isEqualTo(5);
        assertThatThrownBy(() -> x.insert(11, 7)).hasMessageContaining("already mapped");
        assertThat(x.removeAll()).containsExactly(new long[] {99, 4}, new long[] {500, 1});
        assertThat(x.nblocks()).isZero();
        assertThat(x.lookup(10)).isEqualTo(XfsIext.HOLE);
    }

    @Test
    void theLargestFileOffsetsCostOneRecordEach() {
        XfsIext x = new XfsIext();
        x.insert(Long.MAX_VALUE, 3);
        x.insert(Long.MAX_VALUE - 1, 2);
        x.insert(1L << 50, 1);
        assertThat(x.nextents()).isEqualTo(2);
        assertThat(x.lookup(Long.MAX_VALUE)).isEqualTo(3);
        assertThat(x.lookup((1L << 50) + 1)).isEqualTo(XfsIext.HOLE);
        assertThatThrownBy(() -> x.insert(-1, 5)).isInstanceOf(IllegalArgumentException.class);
    }
}
