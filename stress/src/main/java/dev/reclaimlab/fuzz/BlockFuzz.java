package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.Bio;
import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.PhysMem;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The block layer half of the fuzz: bios to a raw 1 MiB RAM disk whose every byte a shadow array knows. A
 * bio that ends with -EIO (an injected medium error or fail_make_request) moved no data, so the shadow
 * stays exact and every read that succeeds must return it.
 */
final class BlockFuzz {
    private static final int POOL = 8;
    private static final int SECTORS_PER_PAGE = PhysMem.PAGE_SIZE >> Bio.SECTOR_SHIFT;

    private final Harness h;
    private final SplittableRandom r;
    private final Kernel k;
    private final RamDisk disk;
    private final byte[] shadow;
    private final int[] pool = new int[POOL];
    private final List<Bio> ended = new ArrayList<>();
    private boolean ioErrors;

    BlockFuzz(Harness h, SplittableRandom r, Kernel k) {
        this.h = h;
        this.r = r;
        this.k = k;
        this.disk = new RamDisk(k, 1, 1 << 20);
        this.shadow = new byte[1 << 20];
        for (int i = 0; i < POOL; i++) {
            pool[i] = k.mm().allocPages(Gfp.GFP_KERNEL, 0);
        }
    }

    RamDisk disk() {
        return disk;
    }

    void step() {
        int w = r.nextInt(100);
        if (w < 35) {
            io(Bio.Op.WRITE);
        } else if (w < 70) {
            io(Bio.Op.READ);
        } else if (w < 90) {
            badBio();
        } else {
            errors();
        }
    }

    /** A valid bio of 1 to 4 segments of whole sectors, written or read and checked against the shadow. */
    private void io(Bio.Op op) {
        int segs = 1 + r.nextInt(4);
        int[] pfn = new int[segs];
        int[] off = new int[segs];
        int[] len = new int[segs];
        long bytes = 0;
        int start = r.nextInt(POOL);
        for (int i = 0; i < segs; i++) {
            // Each segment its own page, so what a read leaves in one is that segment's alone.
            pfn[i] = pool[(start + i) % POOL];
            int first = r.nextInt(SECTORS_PER_PAGE);
            off[i] = first << Bio.SECTOR_SHIFT;
            len[i] = (1 + r.nextInt(SECTORS_PER_PAGE - first)) << Bio.SECTOR_SHIFT;
            bytes += len[i];
        }
        long sector = r.nextLong((shadow.length - bytes) / Bio.SECTOR_SIZE + 1);
        PhysMem mem = k.mm().mem();
        byte[][] data = new byte[segs][];
        if (op == Bio.Op.WRITE) {
            for (int i = 0; i < segs; i++) {
                data[i] = new byte[len[i]];
                r.nextBytes(data[i]);
            }
        }
        h.call(k, op == Bio.Op.WRITE ? "submitBio WRITE" : "submitBio READ", true, disk.name() + ", sector "
                + sector + ", " + segs + " segments, " + bytes + " bytes", () -> {
                    Bio bio = new Bio(op, sector, segs);
                    for (int i = 0; i < segs; i++) {
                        bio.addPage(pfn[i], len[i], off[i]);
                    }
                    if (op == Bio.Op.WRITE) {
                        for (int i = 0; i < segs; i++) {
                            mem.copyIn(mem.pageAddress(pfn[i]) + off[i], data[i], 0, len[i]);
                        }
                    }
                    int err = disk.submitBioWait(bio);
                    ended.add(bio);
                    if (ended.size() > 16) {
                        ended.remove(0);
                    }
                    if (err != 0) {
                        if (err != -Errno.EIO) {
                            throw new Harness.Corrupt("a bio ended with " + Errno.name(err));
                        }
                        return Res.ERROR;
                    }
                    long pos = sector << Bio.SECTOR_SHIFT;
                    for (int i = 0; i < segs; i++) {
                        if (op == Bio.Op.WRITE) {
                            System.arraycopy(data[i], 0, shadow, (int) pos, len[i]);
                        } else {
                            byte[] got = new byte[len[i]];
                            mem.copyOut(mem.pageAddress(pfn[i]) + off[i], got, 0, len[i]);
                            if (!Arrays.equals(got, Arrays.copyOfRange(shadow, (int) pos, (int) pos + len[i]))) {
                                throw new Harness.Corrupt("sector " + (pos >> Bio.SECTOR_SHIFT) + " read back wrong");
                            }
                        }
                        pos += len[i];
                    }
                    return Res.SUCCESS;
                });
    }

    private void badBio() {
        int c = r.nextInt(8);
        long n = disk.nrSectors();
        int pfn = pool[r.nextInt(POOL)];
        switch (c) {
            case 0: {
                long[] sectors = {n, n - 7, Long.MAX_VALUE, Long.MAX_VALUE - 7, n + r.nextInt(1 << 20)};
                long s = sectors[r.nextInt(sectors.length)];
                h.call(k, "submitBio", false, "sector " + s + " beyond " + n, () -> {
                    Bio b = new Bio(Bio.Op.WRITE, s, 1);
                    b.addPage(pfn, PhysMem.PAGE_SIZE, 0);
                    disk.submitBio(b);
                    return Res.SUCCESS;
                });
                break;
            }
            case 1:
                h.call(k, "bio_alloc", false, "negative sector or no vecs", () -> {
                    new Bio(r.nextBoolean() ? Bio.Op.READ : null, r.nextBoolean() ? -1 - r.nextInt(9) : 0,
                            r.nextBoolean() ? 0 : -1);
                    return Res.SUCCESS;
                });
                break;
            case 2: {
                int[][] bad = {{0, 0}, {100, 0}, {512, 100}, {512, 4096}, {4096, 512}, {512, Integer.MAX_VALUE - 511},
                    {-512, 0}};
                int[] lo = bad[r.nextInt(bad.length)];
                h.call(k, "bio_add_page", false, "len " + lo[0] + ", offset " + lo[1], () -> {
                    new Bio(Bio.Op.READ, 0, 1).addPage(pfn, lo[0], lo[1]);
                    return Res.SUCCESS;
                });
                break;
            }
            case 3:
                h.call(k, "bio_add_page", false, "pfn -1", () -> {
                    new Bio(Bio.Op.READ, 0, 1).addPage(-1 - r.nextInt(9), PhysMem.PAGE_SIZE, 0);
                    return Res.SUCCESS;
                });
                break;
            case 4: {
                int outside = k.mm().mem().nrPages() + r.nextInt(1 << 20);
                h.call(k, "submitBio", false, "a page outside mem_map (pfn " + outside + ")", () -> {
                    Bio b = new Bio(Bio.Op.READ, 0, 1);
                    b.addPage(outside, PhysMem.PAGE_SIZE, 0);
                    disk.submitBio(b);
                    return Res.SUCCESS;
                });
                break;
            }
            case 5:
                if (ended.isEmpty()) {
                    return;
                }
                Bio again = ended.get(r.nextInt(ended.size()));
                h.call(k, "submitBio", false, "an ended bio", () -> {
                    disk.submitBio(again);
                    return Res.SUCCESS;
                });
                break;
            case 6:
                h.call(k, "submitBio", false, "null", () -> {
                    disk.submitBio(null);
                    return Res.SUCCESS;
                });
                break;
            default:
                if (ended.isEmpty()) {
                    return;
                }
                Bio twice = ended.get(0);
                h.call(k, "bioEndio", false, "a bio ended twice", () -> {
                    twice.bioEndio(0);
                    return Res.SUCCESS;
                });
        }
    }

    /** Medium errors and make-it-fail, switched on and off. */
    private void errors() {
        int c = r.nextInt(4);
        long n = disk.nrSectors();
        if (c == 0) {
            boolean valid = r.nextInt(100) < 60;
            long from = valid ? r.nextLong(n - 1) : r.nextBoolean() ? -1 - r.nextInt(9) : n;
            long to = valid ? from + 1 + r.nextLong(Math.min(64, n - from)) : from + 1;
            h.call(k, "injectIoError", valid, from + ", " + to, () -> {
                disk.injectIoError(from, to);
                ioErrors = true;
                return Res.SUCCESS;
            });
        } else if (c == 1 || ioErrors) {
            h.call(k, "clearIoErrors", true, disk.name(), () -> {
                disk.clearIoErrors();
                ioErrors = false;
                return Res.SUCCESS;
            });
        } else {
            boolean valid = c == 2;
            String path = "/sys/block/" + disk.name() + "/make-it-fail";
            String value = valid ? (r.nextBoolean() ? "1" : "0") : new String[] {"2", "yes", "", "-1"}[r.nextInt(4)];
            h.call(k, "write " + path, valid, value, () -> {
                k.faultInjection().write(path, value);
                return Res.SUCCESS;
            });
        }
    }

    /** Frees the pool and checks the whole disk against the shadow. */
    void finish(FuzzStats stats) {
        disk.clearIoErrors();
        k.faultInjection().setMakeItFail(disk.name(), false);
        byte[] back = new byte[shadow.length];
        disk.peek(0, back, 0, back.length);
        stats.integrity(Arrays.equals(back, shadow), "block: every sector of " + disk.name()
                + " holds what the bios that succeeded wrote");
        for (int pfn : pool) {
            k.mm().freePages(pfn, 0);
        }
    }
}
