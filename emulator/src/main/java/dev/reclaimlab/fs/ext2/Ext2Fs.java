package dev.reclaimlab.fs.ext2;

import dev.reclaimlab.block.request.BlockDriver22;
import dev.reclaimlab.fs.buffer.BufferCache;
import dev.reclaimlab.fs.buffer.BufferHead;
import dev.reclaimlab.fs.buffer.LockSuper;
import dev.reclaimlab.kernel.Errno;
import dev.reclaimlab.swap.Mm22;

import java.util.HashMap;
import java.util.Map;

/**
 * An ext2-like filesystem as Linux 2.2 ran it, sufficient for seed 004's path: 1 KiB blocks in groups of
 * 8192, each group starting with its superblock copy, group descriptors, block bitmap, inode bitmap and
 * inode table; block and inode allocation under lock_super() with block and inode bitmaps read through
 * the buffer cache (see {@link Ext2Balloc}, {@link Ext2Ialloc}); file data written through the buffer
 * cache by ext2_file_write() and read through the page cache, mapped through indirect, double- and
 * triple-indirect blocks on the device ({@link Ext2BlockMap}, freed by {@link Ext2Truncate}). On the device:
 * the block and inode bitmaps, map blocks and file data. In memory only (departures): the superblock and
 * group descriptors (2.2 pins their buffers anyway), the inodes themselves (with i_data) and directories.
 * New directories go to the group with the most free blocks, files to their directory's group, as
 * ext2_new_inode() places them.
 */
public final class Ext2Fs {
    static final long FIRST_DATA_BLOCK = 1;
    static final int INODES_PER_GROUP = 256;
    private static final int INODE_SIZE = 128;

    private final Mm22 mm;
    private final BlockDriver22 dev;
    private final BufferCache buffers;
    private final int blocksize;
    private final int blocksPerGroup;
    private final long blocksCount;
    private final int groupsCount;
    private final int itbPerGroup;
    private final LockSuper sLock;
    private final Ext2Balloc balloc;
    private final Ext2Ialloc ialloc;
    private final Ext2BlockMap blockMap;
    // Group descriptors and counts: under lock_super.
    private final int[] groupFree;
    private final int[] groupFreeInodes;
    private final int[] groupDirs;
    private volatile long freeBlocksCount;
    private final Map<Long, Ext2Inode> inodes = new HashMap<>();
    private final Ext2Inode root;
    private final java.util.concurrent.atomic.AtomicLong errors = new java.util.concurrent.atomic.AtomicLong();

    private Ext2Fs(Mm22 mm, BlockDriver22 dev) {
        this.mm = mm;
        this.dev = dev;
        this.buffers = mm.buffers();
        this.blocksize = dev.blockSize();
        if (blocksize != 1024) {
            throw new IllegalArgumentException("ext2 on " + dev.name() + ": this ext2 uses 1024-byte blocks, not "
                    + blocksize);
        }
        this.blocksPerGroup = 8 * blocksize;
        this.blocksCount = dev.nrBlocks();
        this.itbPerGroup = INODES_PER_GROUP * INODE_SIZE / blocksize;
        long dataBlocks = blocksCount - FIRST_DATA_BLOCK;
        this.groupsCount = (int) ((dataBlocks + blocksPerGroup - 1) / blocksPerGroup);
        if (groupBlocksOf(groupsCount - 1) <= reservedPerGroup() + 8) {
            throw new IllegalArgumentException("ext2 on " + dev.name() + ": " + blocksCount + " blocks leave too small a last group");
        }
        this.sLock = new LockSuper(dev.name());
        this.groupFree = new int[groupsCount];
        this.groupFreeInodes = new int[groupsCount];
        this.groupDirs = new int[groupsCount];
        this.balloc = new Ext2Balloc(this);
        this.ialloc = new Ext2Ialloc(this, INODES_PER_GROUP);
        this.blockMap = new Ext2BlockMap(this);
        long free = 0;
        for (int g = 0; g < groupsCount; g++) {
            groupFree[g] = groupBlocks(g) - reservedPerGroup();
            groupFreeInodes[g] = INODES_PER_GROUP - (g == 0 ? Ext2Ialloc.EXT2_GOOD_OLD_FIRST_INO - 1 : 0);
            free += groupFree[g];
        }
        this.freeBlocksCount = free;
        this.root = new Ext2Inode(this, Ext2Ialloc.EXT2_ROOT_INO, 0, true);
        root.iCount.set(1);
        groupDirs[0]++;
        inodes.put(root.ino, root);
    }

    /**
     * mke2fs and mount: writes every group's block bitmap (its metadata blocks marked used) and inode bitmap
     * through the buffer cache to {@code dev} and waits for it, then returns the mounted filesystem.
     */
    public static Ext2Fs mkfs(Mm22 mm, BlockDriver22 dev) {
        Ext2Fs fs = new Ext2Fs(mm, dev);
        for (int g = 0; g < fs.groupsCount; g++) {
            BufferHead bh = fs.buffers.getblk(dev, fs.blockBitmapBlock(g), fs.blocksize);
            mm.mem().memset(bh.data(), 0, fs.blocksize);
            int size = fs.groupBlocks(g);
            for (int bit = 0; bit < fs.blocksPerGroup; bit++) {
                if (bit < fs.reservedPerGroup() || bit >= size) {
                    long a = bh.data() + (bit >> 3);
                    mm.mem().putByte(a, (byte) (mm.mem().getByte(a) | (1 << (bit & 7))));
                }
            }
            fs.buffers.markBufferUptodate(bh, true);
            fs.buffers.markBufferDirty(bh, true);
            fs.buffers.brelse(bh);
            fs.ialloc.mkfsBitmap(g);
        }
        int err = fs.buffers.syncBuffers(dev);
        if (err != 0) {
            throw new IllegalStateException("mke2fs " + dev.name() + ": writing the bitmaps failed: " + err);
        }
        return fs;
    }

    public BlockDriver22 dev() {
        return dev;
    }

    public Mm22 mm22() {
        return mm;
    }

    BufferCache buffers() {
        return buffers;
    }

    Ext2Balloc balloc() {
        return balloc;
    }

    Ext2BlockMap blockMap() {
        return blockMap;
    }

    public int blocksize() {
        return blocksize;
    }

    int blocksPerGroup() {
        return blocksPerGroup;
    }

    long blocksCount() {
        return blocksCount;
    }

    public int groupsCount() {
        return groupsCount;
    }

    /** sb->s_lock. */
    public LockSuper sLock() {
        return sLock;
    }

    public long freeBlocksCount() {
        return freeBlocksCount;
    }

    /** ext2_error() calls so far (errors=continue). */
    public long errors() {
        return errors.get();
    }

    /** Block-bitmap LRU misses: bread() while the superblock is locked (the buffer is often still cached). */
    public long bitmapReads() {
        return balloc.bitmapReads();
    }

    /** Block-bitmap reads that went to the device while the superblock was locked. */
    public long bitmapIos() {
        return balloc.bitmapIos();
    }

    /** Map blocks looked up in the buffer cache (ext2_bmap(), ext2_getblk(), truncate). */
    public long mapReads() {
        return blockMap.reads();
    }

    /** Of those, the map blocks that were not uptodate and were read from the device. */
    public long mapIos() {
        return blockMap.ios();
    }

    /** Inode bitmaps read under lock_super (LRU misses in ext2_new_inode() and ext2_free_inode()). */
    public long inodeBitmapReads() {
        return ialloc.bitmapReads();
    }

    /** Of those, the reads that went to the device with the superblock locked. */
    public long inodeBitmapIos() {
        return ialloc.bitmapIos();
    }

    private int reservedPerGroup() {
        return 4 + itbPerGroup;
    }

    private int groupBlocksOf(int g) {
        long start = FIRST_DATA_BLOCK + (long) g * blocksPerGroup;
        return (int) Math.min(blocksPerGroup, blocksCount - start);
    }

    /** Blocks in group {@code g} (the last may be short). */
    int groupBlocks(int g) {
        return groupBlocksOf(g);
    }

    long blockBitmapBlock(int g) {
        return FIRST_DATA_BLOCK + (long) g * blocksPerGroup + 2;
    }

    long inodeBitmapBlock(int g) {
        return FIRST_DATA_BLOCK + (long) g * blocksPerGroup + 3;
    }

    /** The first data block of group {@code g}: a file's allocation goal before it has blocks. */
    long firstDataBlock(int g) {
        return FIRST_DATA_BLOCK + (long) g * blocksPerGroup + reservedPerGroup();
    }

    int groupFree(int g) {
        return groupFree[g];
    }

    /** Counts {@code n} blocks allocated (negative: freed) in group {@code g}; lock_super held. */
    void groupAllocated(int g, int n) {
        groupFree[g] -= n;
        freeBlocksCount -= n;
    }

    void ext2Error(String function, String what) {
        errors.incrementAndGet();
        mm.kernel().printk("EXT2-fs error (device " + dev.name() + "): " + function + ": " + what);
    }

    public Ext2Inode root() {
        return root;
    }

    /**
     * ext2_new_inode() under lock_super: a directory in the group with the most free blocks, a file in its
     * parent's group while that has free inodes; the inode's bit is taken in that group's inode bitmap, read
     * from the device on an LRU miss with the superblock locked ({@link Ext2Ialloc}). An unreadable bitmap
     * fails the call with -EIO.
     */
    private Ext2Inode newInode(Ext2Inode parent, boolean dir) {
        sLock.lockSuper();
        try {
            int group = -1;
            if (dir) {
                for (int g = 0; g < groupsCount; g++) {
                    if (groupFreeInodes[g] > 0 && (group < 0 || groupFree[g] > groupFree[group]
                            || (groupFree[g] == groupFree[group] && groupDirs[g] < groupDirs[group]))) {
                        group = g;
                    }
                }
            } else if (groupFreeInodes[parent.group] > 0) {
                group = parent.group;
            } else {
                for (int g = 0; g < groupsCount && group < 0; g++) {
                    if (groupFreeInodes[(parent.group + g) % groupsCount] > 0) {
                        group = (parent.group + g) % groupsCount;
                    }
                }
            }
            if (group < 0) {
                return null;
            }
            long ino = ialloc.newInodeNumber(group);
            if (ino < 0) {
                throw new Ext2Exception((int) -ino, "ext2_new_inode: cannot read the inode bitmap of group " + group);
            }
            if (ino == 0) {
                return null;
            }
            groupFreeInodes[group]--;
            if (dir) {
                groupDirs[group]++;
            }
            Ext2Inode ip = new Ext2Inode(this, ino, group, dir);
            inodes.put(ip.ino, ip);
            return ip;
        } finally {
            sLock.unlockSuper();
        }
    }

    /** ext2_free_inode() under lock_super: the inode's bit is cleared; an unreadable bitmap leaks the inode. */
    private void freeInode(Ext2Inode ip) {
        sLock.lockSuper();
        try {
            if (ialloc.freeInodeNumber(ip.ino) == 0) {
                groupFreeInodes[ip.group]++;
                if (ip.dir) {
                    groupDirs[ip.group]--;
                }
            }
            inodes.remove(ip.ino);
        } finally {
            sLock.unlockSuper();
        }
    }

    /** mkdir in {@code parent} (the root unless given): down(&dir->i_sem), ext2_mkdir(). */
    public Ext2Inode mkdir(Ext2Inode parent, String name) {
        checkName(name, "mkdir");
        Ext2Inode dirp = parent == null ? root : parent;
        dirp.iSem.down();
        try {
            if (dirp.entries.containsKey(name)) {
                throw new Ext2Exception(Errno.EEXIST, "mkdir " + name + ": exists");
            }
            Ext2Inode ip = newInode(dirp, true);
            if (ip == null) {
                throw new Ext2Exception(Errno.ENOSPC, "mkdir " + name + ": no free inode");
            }
            ip.iCount.set(1);
            dirp.entries.put(name, ip);
            return ip;
        } finally {
            dirp.iSem.up();
        }
    }

    /** open(name, O_CREAT|O_TRUNC|O_RDWR) in {@code dir}: a new empty file, opened. */
    public Ext2File create(Ext2Inode dir, String name) {
        checkName(name, "create");
        Ext2Inode dirp = dir == null ? root : dir;
        dirp.iSem.down();
        Ext2Inode ip;
        try {
            if (dirp.entries.containsKey(name)) {
                throw new Ext2Exception(Errno.EEXIST, "create " + name + ": exists");
            }
            ip = newInode(dirp, false);
            if (ip == null) {
                throw new Ext2Exception(Errno.ENOSPC, "create " + name + ": no free inode");
            }
            dirp.entries.put(name, ip);
            ip.iCount.incrementAndGet();
        } finally {
            dirp.iSem.up();
        }
        return new Ext2File(this, ip);
    }

    /** open(name, O_RDWR) in {@code dir}. */
    public Ext2File open(Ext2Inode dir, String name) {
        checkName(name, "open");
        Ext2Inode dirp = dir == null ? root : dir;
        dirp.iSem.down();
        try {
            Ext2Inode ip = dirp.entries.get(name);
            if (ip == null || ip.dir) {
                throw new Ext2Exception(Errno.ENOENT, "open " + name + ": no such file");
            }
            iget(ip);
            return new Ext2File(this, ip);
        } finally {
            dirp.iSem.up();
        }
    }

    /** unlink: the name goes; the inode is deleted with its last reference (ext2_delete_inode()). */
    public void unlink(Ext2Inode dir, String name) {
        checkName(name, "unlink");
        Ext2Inode dirp = dir == null ? root : dir;
        Ext2Inode ip;
        dirp.iSem.down();
        try {
            ip = dirp.entries.remove(name);
            if (ip == null || ip.dir) {
                if (ip != null) {
                    dirp.entries.put(name, ip);
                }
                throw new Ext2Exception(Errno.ENOENT, "unlink " + name + ": no such file");
            }
            ip.iNlink = 0;
            ip.iCount.incrementAndGet();
        } finally {
            dirp.iSem.up();
        }
        iput(ip);
    }

    /**
     * One directory entry's name: not null, empty, "." or "..", no '/' or NUL (a path, not a name), and at most
     * EXT2_NAME_LEN (255) bytes, else ENAMETOOLONG as ext2_lookup() gives.
     */
    static void checkName(String name, String what) {
        if (name == null || name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException(what + ": '" + name + "' is not a file name");
        }
        if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > EXT2_NAME_LEN) {
            throw new Ext2Exception(Errno.ENAMETOOLONG, what + ": name of " + name.length() + " characters is longer"
                    + " than EXT2_NAME_LEN " + EXT2_NAME_LEN);
        }
    }

    /** EXT2_NAME_LEN. */
    public static final int EXT2_NAME_LEN = 255;

    void iget(Ext2Inode ip) {
        ip.iCount.incrementAndGet();
    }

    /** iput(): the last reference to an unlinked inode truncates it to nothing and frees it. */
    void iput(Ext2Inode ip) {
        int c = ip.iCount.decrementAndGet();
        if (c < 0) {
            ip.iCount.incrementAndGet();
            throw new IllegalStateException("iput: " + ip + " has no references");
        }
        boolean delete = c == 0 && ip.iNlink == 0;
        if (delete) {
            ip.iSem.down();
            try {
                Ext2File.truncateBlocks(this, ip, 0);
            } finally {
                ip.iSem.up();
            }
            freeInode(ip);
        }
    }
}
