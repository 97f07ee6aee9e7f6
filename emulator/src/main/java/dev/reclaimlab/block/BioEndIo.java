package dev.reclaimlab.block;

/** bio_end_io_t. */
@FunctionalInterface
public interface BioEndIo {
    void bioEndIo(Bio bio);
}
