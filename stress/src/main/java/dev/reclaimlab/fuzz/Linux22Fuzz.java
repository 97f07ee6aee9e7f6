package dev.reclaimlab.fuzz;

import dev.reclaimlab.fuzz.Harness.Res;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp22;
import dev.reclaimlab.swap.Process22;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The Linux 2.2 part of the fuzz: a process with anonymous memory larger than the kernel's (so it goes to
 * swap and comes back) and shared and private mappings of ext2 files, a peer process mapping the same files,
 * read(2) and write(2) through its memory, and ext2's calls, ftruncate() of mapped files (vmtruncate()) among
 * them. Every byte of the anonymous memory, of every private copy and of every file is in a shadow; at the end
 * every mapping is read back, every file is read back from the disk, and everything is given back.
 */
final class Linux22Fuzz extends Linux22Context {
    private final UserMemoryOps user;
    private final Ext2Ops ext2;
    private final Buffer22Ops buffers;

    Linux22Fuzz(Harness h, SplittableRandom r, Kernel k) {
        super(h, r, k);
        this.user = new UserMemoryOps(this);
        this.ext2 = new Ext2Ops(this);
        this.buffers = new Buffer22Ops(this);
    }

    void step() {
        int w = r.nextInt(100);
        String killed = killedBy();
        if (killed != null) {
            // OOM-killed (2.2.1's answer when reclaim frees nothing), or SIGBUS for want of a page for a private
            // copy: the process exits and a new one starts.
            state.kills++;
            exitAndExec("killed (" + killed + ")");
            state.fatal = null;
            return;
        }
        String peerKilled = peerKilledBy();
        if (peerKilled != null) {
            state.kills++;
            peerExit("killed (" + peerKilled + ")");
            return;
        }
        if (w < 9) {
            user.mmap();
        } else if (w < 13) {
            user.munmap();
        } else if (w < 27) {
            user.writeUser();
        } else if (w < 36) {
            user.readUser();
        } else if (w < 38) {
            user.beyondEof();
        } else if (w < 41) {
            user.peer();
        } else if (w < 45) {
            user.copyFromUser();
        } else if (w < 48) {
            user.copyToUser();
        } else if (w < 50) {
            user.badUpdateVmCache();
        } else if (w < 55) {
            ext2.create();
        } else if (w < 58) {
            ext2.close();
        } else if (w < 67) {
            ext2.write();
        } else if (w < 75) {
            ext2.read();
        } else if (w < 76) {
            buffers.bread();
        } else if (w < 77) {
            buffers.pages();
        } else if (w < 83) {
            ext2.writeUser();
        } else if (w < 89) {
            ext2.readToUser();
        } else if (w < 92) {
            ext2.ftruncate();
        } else if (w < 94) {
            ext2.badWriteKernel();
        } else if (w < 98) {
            user.fill();
        } else if (w < 99) {
            if (r.nextBoolean()) {
                sync();
            } else {
                call("try_to_free_pages", true, "GFP_KERNEL x8", () -> {
                    reclaim(8);
                    return Res.SUCCESS;
                });
            }
        } else if (r.nextInt(4) == 0) {
            exitAndExec("exit");
        }
    }

    /** sync(): every dirty buffer of the ext2 disk written. */
    private void sync() {
        call("sync_buffers", true, disk.name(), () -> mm.buffers().syncBuffers(disk) == 0 ? Res.SUCCESS
                : Res.ERROR);
    }

    /** The process exits (every mapping unmapped, shared ones written first) and a new one starts. */
    private void exitAndExec(String why) {
        call("exit+exec", true, p() + " " + why + " with " + maps.size() + " mappings", () -> {
            for (Map22 m : maps) {
                if (m.file != null) {
                    m.file.maps--;
                }
            }
            maps.clear();
            state.anonPages = 0;
            p().exit();
            return Res.SUCCESS;
        });
        stopThread(state.thread);
        startProcess();
    }

    /** The peer process exits (its shared mappings written first) and a new one starts. */
    private void peerExit(String why) {
        callPeer("peer exit+exec", true, state.peer + " " + why + " with " + peerMaps.size() + " mappings", () -> {
            for (Map22 m : peerMaps) {
                m.file.maps--;
            }
            peerMaps.clear();
            state.peer.exit();
            return Res.SUCCESS;
        });
        state.peerFatal = null;
        stopThread(state.peerThread);
        startPeer();
    }

    /** Reads every mapping of {@code ms} back in {@code who} (on its thread) and names those the shadow disowns. */
    private void readBack(List<Map22> ms, Process22 who, Consumer<Harness.Action> on, String prefix,
                          List<String> bad) {
        for (Map22 m : ms) {
            if (m.scratch || m.len() <= 0) {
                continue;
            }
            byte[] got = new byte[(int) m.len()];
            on.accept(() -> {
                mm.memory().readUser(who, m.v.start(), got, 0, got.length);
                return Res.SUCCESS;
            });
            if (!matches(m, 0, got)) {
                bad.add(prefix + m);
            }
        }
    }

    private void reclaim(int rounds) {
        for (int i = 0; i < rounds; i++) {
            mm.vmscan().tryToFreePages(Gfp22.GFP_KERNEL);
        }
    }

    /**
     * Reads every mapping back, unmaps all (shared mappings write back), writes every buffer, drops the
     * caches, reads every file back from the disk, closes and unlinks all and checks every block and swap
     * entry is free and every page came back.
     */
    void finish(FuzzStats stats) {
        k.currentTask();
        // Reclaim first, so the read-back comes from the swap disk too, not only from the swap cache.
        long in0 = mm.pageIo().pswpin();
        reclaim(300);
        List<String> bad = new ArrayList<>();
        String killed = killedBy();
        if (killed == null) {
            readBack(maps, p(), this::onProcess, "", bad);
        }
        if (peerKilledBy() == null) {
            readBack(peerMaps, state.peer, this::onPeer, "peer's ", bad);
        }
        stats.integrity(bad.isEmpty(), "2.2: " + maps.size() + " + " + peerMaps.size() + " (the peer's)"
                + " mappings read back intact (" + mm.pageIo().pswpout()
                + " pages swapped out, " + mm.pageIo().pswpin() + " in, " + (mm.pageIo().pswpin() - in0)
                + " of them by the read-back; " + state.kills + " OOM kills; " + state.mappedTruncates
                + " truncates of mapped files; loose bytes of truncated private copies read as zeros "
                + state.looseZeroed + ", with their old value " + state.looseKept + ")"
                + (bad.isEmpty() ? "" : ", wrong: " + bad) + (killed == null ? "" : "; the process was OOM-killed ("
                + killed + "), so its mappings were not read back"));
        exitAndStop(state.thread, p());
        maps.clear();
        exitAndStop(state.peerThread, state.peer);
        peerMaps.clear();
        other.exit();
        k.kthreadStop(otherTask);
        mm.buffers().syncBuffers(disk);
        for (int pass = 0; pass < 100; pass++) {
            int freed = mm.buffers().dropBuffers(disk);
            for (File22Model f : files) {
                freed += mm.pageCache().invalidateInodePages(f.f.mapping());
            }
            if (freed == 0) {
                break;
            }
        }
        bad.clear();
        for (File22Model f : files) {
            if (f.unknown) {
                continue;
            }
            byte[] got = new byte[f.data.length + 16];
            long n = f.f.read(got, 0, got.length, 0);
            if (n != f.data.length || !Arrays.equals(Arrays.copyOf(got, (int) n), f.data)) {
                bad.add(f + " (" + n + " of " + f.data.length + " bytes)");
            }
        }
        stats.integrity(bad.isEmpty(), "2.2: " + files.size() + " ext2 files read back from the disk intact"
                + (bad.isEmpty() ? "" : ", wrong: " + bad));
        for (File22Model f : files) {
            fs.unlink(null, f.name);
            f.f.close();
        }
        files.clear();
        mm.buffers().syncBuffers(disk);
        stats.integrity(fs.freeBlocksCount() == freeBlocksAtMkfs && fs.errors() == 0, "2.2: every ext2 block freed ("
                + fs.freeBlocksCount() + " of " + freeBlocksAtMkfs + " free, " + fs.errors() + " errors)");
        // An unused swap-cache page keeps its entry until shrink_mmap() frees it (2.2's way): reclaim frees them.
        for (int i = 0; i < 1000 && mm.swap().swapCachePages() > 0; i++) {
            reclaim(1);
        }
        stats.integrity(mm.swap().nrSwapPages() == swapFreeAtBoot && mm.swap().swapCachePages() == 0,
                "2.2: every swap entry freed (" + mm.swap().nrSwapPages() + " of " + swapFreeAtBoot + " free, "
                + mm.swap().swapCachePages() + " in the swap cache)");
        mm.freePage(kbufPfn);
        stats.integrity(k.oopses().isEmpty(), "2.2: no oops" + (k.oopses().isEmpty() ? "" : ": " + k.oopses().get(0)));
    }
}
