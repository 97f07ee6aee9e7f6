/**
 * An ext2-like filesystem as Linux 2.2 ran it: block and inode allocation under lock_super() reading
 * their bitmaps with bread(), file writes through the buffer cache, reads through the page cache, sparse
 * files mapped through indirect blocks. Block and inode bitmaps, map blocks and data are on the device;
 * superblock, group descriptors, inodes (with i_data: twelve direct blocks and three map pointers) and
 * directories are in memory. System calls throw {@link dev.reclaimlab.fs.ext2.Ext2Exception} for namespace
 * errors and return -errno from read and write, as 2.2's syscalls do.
 */
package dev.reclaimlab.fs.ext2;
