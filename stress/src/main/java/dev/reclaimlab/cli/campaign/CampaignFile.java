package dev.reclaimlab.cli.campaign;

import dev.reclaimlab.cli.UsageException;
import dev.reclaimlab.cli.json.JsonCodec;
import tools.jackson.core.JacksonException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A campaign file (JSON): defaults, then groups of runs, each a scenario, its variants (all when left out)
 * and seeds; a group may set its own seconds and memory.
 * <pre>
 * {"seconds": 5, "memory": "64m",
 *  "runs": [{"scenario": "xfs-on-loop", "seeds": "1..50"},
 *           {"scenario": "xfs-on-loop", "variants": ["linux-4.3-rc3"], "seeds": "51..200", "seconds": 20}]}
 * </pre>
 */
public record CampaignFile(Long seconds, String memory, List<Group> runs) {

    public record Group(String scenario, List<String> variants, String seeds, Long seconds, String memory) {
    }

    public static CampaignFile read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UsageException("cannot read campaign file " + file + ": " + e.getClass().getSimpleName()
                    + (e.getMessage() == null ? "" : " " + e.getMessage()));
        }
        CampaignFile c;
        try {
            c = JsonCodec.readStrict(text, CampaignFile.class);
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + " column "
                    + e.getLocation().getColumnNr();
            throw new UsageException("campaign file " + file + " is not a campaign" + where + ": "
                    + e.getOriginalMessage().lines().findFirst().orElse(""));
        }
        if (c == null || c.runs() == null || c.runs().isEmpty()) {
            throw new UsageException("campaign file " + file + " has no \"runs\"");
        }
        for (int i = 0; i < c.runs().size(); i++) {
            Group g = c.runs().get(i);
            if (g == null || g.scenario() == null) {
                throw new UsageException("campaign file " + file + ": runs[" + i + "] has no \"scenario\"");
            }
            if (g.seeds() == null) {
                throw new UsageException("campaign file " + file + ": runs[" + i + "] has no \"seeds\"");
            }
        }
        return c;
    }
}
