package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.mm.PhysMem;

/** The mm fuzz's operations on PhysMem's accessors and copies inside memory the fuzz owns, and ranges that leave kernel memory or arrays. */
final class PhysMemOps extends MmContext {
    PhysMemOps(MmContext c) {
        super(c);
    }

    void physMem() {
        long[] own = ownedRange();
        boolean valid = own != null && valid();
        long addr;
        long len;
        if (valid) {
            addr = own[0];
            len = Math.min(own[1], 8192);
        } else {
            long end = PhysMem.PAGE_OFFSET + mem.size();
            int c = r.nextInt(5);
            // Every invalid range leaves kernel memory (or has a negative length at its end): a stray write
            // inside it would be a corruption the emulator cannot tell from a use of the memory.
            addr = c == 0 ? PhysMem.PAGE_OFFSET - 1 - r.nextInt(1 << 20) : c == 1 ? end - 1 - r.nextInt(3) : c == 2
                    ? r.nextLong() & 0x7fffffffffffL : c == 3 ? end + r.nextInt(1 << 20) : end;
            len = c == 4 ? -1 - r.nextInt(100) : c == 1 ? 8 + r.nextInt(64) : 1 + r.nextInt(64);
        }
        long a = addr;
        long n = len;
        int kind = r.nextInt(8);
        switch (kind) {
            case 0:
                if (valid && n < 8) {
                    return;
                }
                h.call(k, "PhysMem.putLong+getLong", valid, String.format("0x%x", a), () -> {
                    long v = r.nextLong();
                    mem.putLong(a, v);
                    if (mem.getLong(a) != v) {
                        throw new Harness.Corrupt("getLong after putLong");
                    }
                    return Res.SUCCESS;
                });
                break;
            case 1:
                if (valid && n < 4) {
                    return;
                }
                h.call(k, "PhysMem.putInt+getByte", valid, String.format("0x%x", a), () -> {
                    mem.putInt(a, 0x01020304);
                    mem.getByte(a);
                    return Res.SUCCESS;
                });
                break;
            case 2:
                h.call(k, "PhysMem.memset", valid, String.format("0x%x, %d", a, n), () -> {
                    mem.memset(a, 0xa5, n);
                    return Res.SUCCESS;
                });
                break;
            case 3: {
                boolean badArray = !valid || r.nextInt(4) == 0;
                int cap = (int) Math.min(Math.max(n, 0), 8192);
                byte[] buf = badArray && r.nextBoolean() ? null : new byte[badArray ? Math.max(0, cap - 1) : cap];
                int len32 = (int) Math.max(Math.min(n, Integer.MAX_VALUE), Integer.MIN_VALUE);
                boolean ok = valid && !badArray;
                h.call(k, "PhysMem.copyIn", ok, String.format("0x%x, %s, %d", a, buf == null ? "null" : buf.length,
                        len32), () -> {
                            mem.copyIn(a, buf, 0, len32);
                            return Res.SUCCESS;
                        });
                break;
            }
            case 4: {
                boolean badArray = !valid || r.nextInt(4) == 0;
                int len32 = (int) Math.max(Math.min(n, Integer.MAX_VALUE), Integer.MIN_VALUE);
                byte[] buf = new byte[(int) Math.min(Math.max(n, 0), 8192) + 16];
                int off = badArray ? (r.nextBoolean() ? -1 : buf.length) : r.nextInt(16);
                boolean ok = valid && !badArray;
                h.call(k, "PhysMem.copyOut", ok, String.format("0x%x, off %d, %d", a, off, len32), () -> {
                    mem.copyOut(a, buf, off, len32);
                    return Res.SUCCESS;
                });
                break;
            }
            case 5: {
                long[] other = ownedRange();
                if (other == null) {
                    return;
                }
                long m = Math.min(n, other[1]);
                boolean ok = valid && m > 0;
                long dst = ok ? other[0] : a;
                long src = ok ? a : other[0];
                h.call(k, "PhysMem.memcpy", ok, String.format("0x%x, 0x%x, %d", dst, src, ok ? m : n), () -> {
                    mem.memcpy(dst, src, ok ? m : n);
                    return Res.SUCCESS;
                });
                break;
            }
            case 6: {
                // One byte is enough to be inside: an invalid address for it is wholly outside.
                long va = valid || a < PhysMem.PAGE_OFFSET + mem.size() && a >= PhysMem.PAGE_OFFSET
                        ? (valid ? a : PhysMem.PAGE_OFFSET + mem.size()) : a;
                h.call(k, "PhysMem.virtToPfn", valid, String.format("0x%x", va), () -> {
                    int pfn = mem.virtToPfn(va);
                    if (pfn < 0 || pfn >= nrPages) {
                        throw new Harness.Corrupt("virtToPfn gave " + pfn);
                    }
                    return Res.SUCCESS;
                });
                break;
            }
            default: {
                int pfn = valid ? r.nextInt(nrPages) : badPfn();
                h.call(k, "pageAddress+pageCount", valid, Integer.toString(pfn), () -> {
                    long va = mm.pageAddress(pfn);
                    mm.pageAlloc().pageCount(pfn);
                    if (mem.virtToPfn(va) != pfn) {
                        throw new Harness.Corrupt("virtToPfn(pageAddress(" + pfn + "))");
                    }
                    return Res.SUCCESS;
                });
            }
        }
    }
}
