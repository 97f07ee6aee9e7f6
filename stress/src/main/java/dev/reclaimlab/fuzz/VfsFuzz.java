package dev.reclaimlab.fuzz;

import dev.reclaimlab.block.RamDisk;
import dev.reclaimlab.fs.File;
import dev.reclaimlab.kernel.Kernel;
import dev.reclaimlab.mm.Gfp;
import dev.reclaimlab.mm.ShrinkControl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The VFS and XFS half of the fuzz: an XFS on a RAM disk, and a second, small one whose files are "another
 * mount's". Every successful read of a stable file must return its bytes exactly, and at the end they are
 * read back from the device; scratch files take any write.
 */
final class VfsFuzz extends VfsContext {
    private final VfsNameOps names;
    private final VfsDataOps data;

    VfsFuzz(Harness h, SplittableRandom r, Kernel k) {
        super(h, r, k);
        this.names = new VfsNameOps(this);
        this.data = new VfsDataOps(this);
    }

    /** Stable files are made only while nothing is injected. */
    void injecting(boolean on) {
        state.injecting = on;
    }

    RamDisk ram() {
        return ram;
    }

    void step() {
        int w = r.nextInt(100);
        if (w < 8) {
            names.create();
        } else if (w < 11) {
            names.mkdirRmdir();
        } else if (w < 19) {
            names.open();
        } else if (w < 26) {
            names.close();
        } else if (w < 44) {
            data.write();
        } else if (w < 66) {
            data.read();
        } else if (w < 70) {
            data.seek();
        } else if (w < 75) {
            data.fsync();
        } else if (w < 80) {
            names.unlink();
        } else if (w < 82) {
            names.readdir();
        } else if (w < 84) {
            names.getdents();
        } else if (w < 88) {
            data.stableFile();
        } else if (w < 92) {
            data.fileOps();
        } else if (w < 99) {
            data.dropCaches();
        } else {
            data.sync();
        }
    }

    /** Closes everything, reads every stable file back from the device, removes all and unmounts both. */
    void finish(FuzzStats stats) {
        for (Handle x : open) {
            vfs.close(x.f);
        }
        open.clear();
        other.vfs().close(foreign);
        ShrinkControl sc = new ShrinkControl(Gfp.GFP_KERNEL);
        sc.nrToScan = Long.MAX_VALUE / 4;
        for (int i = 0; i < 4; i++) {
            xfs.sb().shrinker().scanObjects(sc);
        }
        List<String> bad = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : stable.entrySet()) {
            File f = vfs.open(e.getKey());
            byte[] got = vfs.read(f, 0, e.getValue().length + 10);
            vfs.close(f);
            if (!Arrays.equals(got, e.getValue())) {
                bad.add(e.getKey());
            }
        }
        stats.integrity(bad.isEmpty(), "vfs: " + stable.size() + " stable files read back from the device intact"
                + (bad.isEmpty() ? "" : ", wrong: " + bad));
        for (String p : new ArrayList<>(stable.keySet())) {
            vfs.unlink("/", p.substring(1));
        }
        for (String p : scratch.keySet()) {
            int slash = p.lastIndexOf('/');
            vfs.unlink(slash == 0 ? "/" : p.substring(0, slash), p.substring(slash + 1));
        }
        for (String d : dirs.descendingSet()) {
            if (!d.equals("/")) {
                int slash = d.lastIndexOf('/');
                vfs.rmdir(slash == 0 ? "/" : d.substring(0, slash), d.substring(slash + 1));
            }
        }
        List<String> left = vfs.readdir("/");
        long freeBlocks = xfs.freeBlocks();
        stats.integrity(left.isEmpty() && freeBlocks == xfs.dblocks(), "vfs: every name removed and every block"
                + " freed (" + freeBlocks + " of " + xfs.dblocks() + " free, left: " + left + ")");
        xfs.umount();
        other.umount();
        stats.integrity(true, "vfs: both filesystems unmounted with no busy inode (" + xfs.ioErrors()
                + " data IO errors met on the way)");
    }
}
