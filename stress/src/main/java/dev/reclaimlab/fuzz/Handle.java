package dev.reclaimlab.fuzz;

import dev.reclaimlab.fs.File;

/** An open file the fuzz holds. */
final class Handle {
    final File f;
    final String path;
    final int mode;
    /** Opened on a directory (which may have been removed since). */
    final boolean dir;
    /** f_pos as the fuzz moved it. */
    long fpos;

    Handle(File f, String path, int mode, boolean dir) {
        this.f = f;
        this.path = path;
        this.mode = mode;
        this.dir = dir;
    }

    @Override
    public String toString() {
        return path + (mode == File.O_RDONLY ? " ro" : mode == File.O_WRONLY ? " wo" : " rw");
    }
}
