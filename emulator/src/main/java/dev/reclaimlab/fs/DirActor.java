package dev.reclaimlab.fs;

/**
 * struct dir_context's actor (include/linux/fs.h, 3.11+): what ->iterate() hands each directory entry to,
 * filldir64() for getdents64(). It returns false to stop the walk (the record does not fit, or its copy to
 * user memory faulted), so the entry is not consumed and the next call starts with it.
 */
@FunctionalInterface
public interface DirActor {
    boolean emit(String name, long ino);
}
