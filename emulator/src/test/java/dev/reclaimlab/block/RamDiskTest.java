package dev.reclaimlab.block;

import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.kernel.Task;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;
import dev.reclaimlab.testkit.Boot;
import dev.reclaimlab.testkit.KernelExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(30)
@ExtendWith(KernelExtension.class)
@Boot(memory = "16m")
class RamDiskTest {
    private static final int PAGE = PhysMem.PAGE_SIZE;

    static long crc(PhysMem mem, int[] pfns) {
        CRC32 c = new CRC32();
        byte[] buf = new byte[PAGE];
        for (int pfn : pfns) {
            mem.copyOut(mem.pageAddress(pfn), buf, 0, PAGE);
            c.update(buf);
        }
        return c.getValue();
    }

    static int[] allocPages(Kernel k, int n) {
        int[] pfns = new int[n];
        for (int i = 0; i < n; i++) {
            pfns[i] = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
            assertThat(pfns[i]).isNotNegative();
        }
        return pfns;
    }

    /** One bio per {@code perBio} pages, whole pages, starting at {@code sector}. */
    static List<Bio> bios(Bio.Op op, long sector, int[] pfns, int perBio) {
        List<Bio> out = new ArrayList<>();
        for (int i = 0; i < pfns.length; i += perBio) {
            Bio b = new Bio(op, sector + (long) i * (PAGE >> Bio.SECTOR_SHIFT), perBio);
            for (int j = i; j < Math.min(pfns.length, i + perBio); j++) {
                assertThat(b.addPage(pfns[j], PAGE, 0)).isTrue();
            }
            out.add(b);
        }
        return out;
    }

    @Test
    void dataRoundTripsThroughManySectors(Kernel k) {
        PhysMem mem = k.mm().mem();
        RamDisk rd = new RamDisk(k, 0, 4L << 20);
        assertThat(rd.name()).isEqualTo("ram0");
        assertThat(rd.nrSectors()).isEqualTo(8192);
        int n = 64;
        int[] src = allocPages(k, n);
        byte[] buf = new byte[PAGE];
        Random r = new Random(42);
        for (int pfn : src) {
            r.nextBytes(buf);
            mem.copyIn(mem.pageAddress(pfn), buf, 0, PAGE);
        }
        long sector = 1000;
        List<Bio> writes = bios(Bio.Op.WRITE, sector, src, 5);
        Task me = k.currentTask();
        for (Bio b : writes) {
            rd.submitBio(b);
            // brd ends the bio in the submitter's context.
            assertThat(b.ended()).isTrue();
            assertThat(b.owner()).isSameAs(me);
        }
        for (Bio b : writes) {
            assertThat(b.waitForCompletion()).isZero();
        }
        assertThat(rd.submitBioWait(new Bio(Bio.Op.FLUSH, 0, 0))).isZero();

        int[] dst = allocPages(k, n);
        for (Bio b : bios(Bio.Op.READ, sector, dst, 3)) {
            assertThat(rd.submitBioWait(b)).isZero();
        }
        assertThat(crc(mem, dst)).isEqualTo(crc(mem, src));

        // Sub-page segments: read sectors 2..5 of the first written page into the middle of a page.
        int part = allocPages(k, 1)[0];
        mem.memset(mem.pageAddress(part), 0, PAGE);
        Bio b = new Bio(Bio.Op.READ, sector + 2, 1);
        b.addPage(part, 2048, 1024);
        assertThat(rd.submitBioWait(b)).isZero();
        byte[] want = new byte[2048];
        byte[] got = new byte[2048];
        mem.copyOut(mem.pageAddress(src[0]) + 1024, want, 0, 2048);
        mem.copyOut(mem.pageAddress(part) + 1024, got, 0, 2048);
        assertThat(got).isEqualTo(want);
        assertThat(mem.getLong(mem.pageAddress(part))).isZero();

        // Never-written sectors read back as zeroes.
        int fresh = allocPages(k, 1)[0];
        mem.memset(mem.pageAddress(fresh), 0xff, PAGE);
        Bio z = new Bio(Bio.Op.READ, 0, 1);
        z.addPage(fresh, PAGE, 0);
        assertThat(rd.submitBioWait(z)).isZero();
        assertThat(crc(mem, new int[] {fresh})).isEqualTo(crc(new byte[PAGE]));
        assertThat(k.oopses()).isEmpty();
    }

    private static long crc(byte[] b) {
        CRC32 c = new CRC32();
        c.update(b);
        return c.getValue();
    }

    @Test
    void outOfRangeBiosThrowAtSubmit(Kernel k) {
        RamDisk rd = new RamDisk(k, 3, 64 * 1024);
        int pfn = allocPages(k, 1)[0];
        Bio b = new Bio(Bio.Op.WRITE, rd.nrSectors() - 4, 1);
        b.addPage(pfn, PAGE, 0);
        assertThatThrownBy(() -> rd.submitBio(b)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ram3").hasMessageContaining("128 sectors");
        Bio bad = new Bio(Bio.Op.READ, 0, 1);
        bad.addPage(1 << 30, PAGE, 0);
        assertThatThrownBy(() -> rd.submitBio(bad)).hasMessageContaining("outside mem_map");
        assertThatThrownBy(() -> new RamDisk(k, 4, 1000)).hasMessageContaining("ram4");
        assertThatThrownBy(() -> rd.injectIoError(0, 1000)).hasMessageContaining("ram3");
    }

    @Test
    void aBioNearLongMaxValueSectorsIsRefusedWithoutOverflow(Kernel k) {
        RamDisk rd = new RamDisk(k, 3, 64 * 1024);
        int pfn = allocPages(k, 1)[0];
        for (long sector : new long[] {Long.MAX_VALUE, Long.MAX_VALUE - 7, Long.MAX_VALUE - 8, rd.nrSectors() - 7,
            rd.nrSectors()}) {
            Bio b = new Bio(Bio.Op.WRITE, sector, 1);
            b.addPage(pfn, PAGE, 0);
            assertThatThrownBy(() -> rd.submitBio(b)).as("sector %d", sector)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ends beyond the device's");
            assertThat(b.ended()).isFalse();
        }
        Bio last = new Bio(Bio.Op.WRITE, rd.nrSectors() - 8, 1);
        last.addPage(pfn, PAGE, 0);
        assertThat(rd.submitBioWait(last)).isZero();
        assertThatThrownBy(() -> rd.submitBio(last)).hasMessageContaining("already ended");
        assertThatThrownBy(() -> rd.submitBio(null)).hasMessageContaining("null bio");
    }

    @Test
    void segmentsMustBeInsideOnePageAndPagesMustBeAllocated(Kernel k) {
        RamDisk rd = new RamDisk(k, 3, 64 * 1024);
        Bio b = new Bio(Bio.Op.READ, 0, 2);
        assertThatThrownBy(() -> b.addPage(0, 512, Integer.MAX_VALUE - 511)).as("offset + len overflows")
                .hasMessageContaining("whole sectors inside one page");
        assertThatThrownBy(() -> b.addPage(-1, 512, 0)).hasMessageContaining("not a page");
        int pfn = allocPages(k, 1)[0];
        k.mm().freePages(pfn, 0);
        b.addPage(pfn, PAGE, 0);
        assertThatThrownBy(() -> rd.submitBio(b)).hasMessageContaining("is not an allocated page (it is free)");
        assertThat(b.ended()).isFalse();
    }

    @Test
    void theDiskEndsABioWhoseCopyThrowsWithEio(Kernel k) {
        RamDisk rd = new RamDisk(k, 3, 64 * 1024);
        int pfn = allocPages(k, 1)[0];
        int outside = k.mm().mem().nrPages();
        Bio b = new Bio(Bio.Op.READ, 0, 2);
        b.addPage(pfn, PAGE, 0);
        // A segment added behind the submit-time checks, as the disk takes the bio (inline, as brd does): its
        // copy throws.
        b.setOwnerListener(t -> {
            if (t == k.currentTask() && b.vcnt() == 1) {
                b.addPage(outside, PAGE, 0);
            }
        });
        assertThat(rd.submitBioWait(b)).isEqualTo(-Errno.EIO);
        assertThat(k.oopses()).singleElement().satisfies(e -> assertThat(e).hasMessageContaining("outside mem_map"));
        assertThat(k.dmesg()).contains("blk_update_request: I/O error, dev ram3, sector 0");
    }

    @Test
    void injectedErrorsComeBackAsEio(Kernel k) {
        RamDisk rd = new RamDisk(k, 0, 1L << 20);
        int pfn = allocPages(k, 1)[0];
        rd.injectIoError(8, 16);
        Bio ok = new Bio(Bio.Op.WRITE, 0, 1);
        ok.addPage(pfn, PAGE, 0);
        assertThat(rd.submitBioWait(ok)).isZero();
        Bio overlapping = new Bio(Bio.Op.WRITE, 12, 1);
        overlapping.addPage(pfn, PAGE, 0);
        assertThat(rd.submitBioWait(overlapping)).isEqualTo(-Errno.EIO);
        Bio read = new Bio(Bio.Op.READ, 15, 1);
        read.addPage(pfn, Bio.SECTOR_SIZE, 0);
        assertThat(rd.submitBioWait(read)).isEqualTo(-5);
        Bio after = new Bio(Bio.Op.READ, 16, 1);
        after.addPage(pfn, PAGE, 0);
        assertThat(rd.submitBioWait(after)).isZero();
        rd.clearIoErrors();
        Bio healed = new Bio(Bio.Op.READ, 8, 1);
        healed.addPage(pfn, PAGE, 0);
        assertThat(rd.submitBioWait(healed)).isZero();
    }

    @Test
    void storageIsOutsideTheKernelBudgetAndFreedByClose(Kernel k) {
        long before = k.mm().offHeapBytes();
        RamDisk a = new RamDisk(k, 0, 8L << 20);
        RamDisk b = new RamDisk(k, 1, 1L << 20);
        int[] pfns = allocPages(k, 4);
        for (Bio w : bios(Bio.Op.WRITE, 0, pfns, 4)) {
            assertThat(a.submitBioWait(w)).isZero();
        }
        for (Bio w : bios(Bio.Op.WRITE, (1L << 20) / Bio.SECTOR_SIZE - 8, pfns, 1)) {
            assertThat(b.submitBioWait(w)).isZero();
            break;
        }
        assertThat(k.mm().offHeapBytes()).as("the disks' chunks are not the kernel's memory").isEqualTo(before);
        assertThat(a.nativeBytes()).isEqualTo(RamDisk.CHUNK_SIZE);
        assertThat(b.nativeBytes()).isEqualTo(RamDisk.CHUNK_SIZE);
        k.close();
        assertThat(a.nativeBytes()).isZero();
        assertThat(b.nativeBytes()).isZero();
        assertThat(k.oopses()).isEmpty();
    }

    @Test
    void aSparseDiskReadsZerosWhereNothingWasWrittenAndAllocatesOnlyTheChunksWritesReach(Kernel k) {
        PhysMem mem = k.mm().mem();
        RamDisk rd = new RamDisk(k, 0, 256L << 20);
        assertThat(rd.nativeBytes()).as("brd allocates a page when a write first reaches it").isZero();
        int[] pfns = allocPages(k, 2);
        byte[] junk = new byte[PAGE];
        Arrays.fill(junk, (byte) 0x5a);
        mem.copyIn(mem.pageAddress(pfns[0]), junk, 0, PAGE);
        Bio never = new Bio(Bio.Op.READ, 100_000, 1);
        never.addPage(pfns[0], PAGE, 0);
        assertThat(rd.submitBioWait(never)).isZero();
        byte[] got = new byte[PAGE];
        mem.copyOut(mem.pageAddress(pfns[0]), got, 0, PAGE);
        assertThat(got).as("a never-written range reads as zeros").containsOnly((byte) 0);
        assertThat(rd.nativeBytes()).as("reads allocate nothing").isZero();
        // Two pages straddling a chunk boundary: two chunks, and the bytes come back across it.
        Random r = new Random(7);
        byte[][] want = new byte[2][PAGE];
        for (int i = 0; i < 2; i++) {
            r.nextBytes(want[i]);
            mem.copyIn(mem.pageAddress(pfns[i]), want[i], 0, PAGE);
        }
        long sector = (RamDisk.CHUNK_SIZE - PAGE / 2) / Bio.SECTOR_SIZE;
        Bio w = new Bio(Bio.Op.WRITE, sector, 2);
        w.addPage(pfns[0], PAGE, 0);
        w.addPage(pfns[1], PAGE, 0);
        assertThat(rd.submitBioWait(w)).isZero();
        assertThat(rd.nativeBytes()).isEqualTo(2L * RamDisk.CHUNK_SIZE);
        byte[] peeked = new byte[2 * PAGE];
        rd.peek(sector * Bio.SECTOR_SIZE, peeked, 0, peeked.length);
        assertThat(Arrays.copyOfRange(peeked, 0, PAGE)).isEqualTo(want[0]);
        assertThat(Arrays.copyOfRange(peeked, PAGE, 2 * PAGE)).isEqualTo(want[1]);
        for (int pfn : pfns) {
            mem.memset(mem.pageAddress(pfn), 0, PAGE);
        }
        Bio back = new Bio(Bio.Op.READ, sector, 2);
        back.addPage(pfns[1], PAGE, 0);
        back.addPage(pfns[0], PAGE, 0);
        assertThat(rd.submitBioWait(back)).isZero();
        mem.copyOut(mem.pageAddress(pfns[1]), got, 0, PAGE);
        assertThat(got).isEqualTo(want[0]);
        mem.copyOut(mem.pageAddress(pfns[0]), got, 0, PAGE);
        assertThat(got).isEqualTo(want[1]);
        byte[] zeros = new byte[PAGE];
        rd.peek(sector * Bio.SECTOR_SIZE - PAGE, zeros, 0, PAGE / 2);
        assertThat(zeros).containsOnly((byte) 0);
        assertThatThrownBy(() -> rd.peek((256L << 20) - 10, new byte[PAGE], 0, 20))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("ram0");
        for (int pfn : pfns) {
            k.mm().freePages(pfn, 0);
        }
    }
}
