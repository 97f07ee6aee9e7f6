package dev.reclaimlab.cli.json;

import com.fasterxml.jackson.annotation.JsonInclude;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.ObjectReader;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line's one Jackson configuration, and the reads and writes every output goes through. */
public final class JsonCodec {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .disable(MapperFeature.SORT_PROPERTIES_ALPHABETICALLY)
            .changeDefaultPropertyInclusion(v -> v.withValueInclusion(JsonInclude.Include.NON_NULL))
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
            .build();
    /** For files people write: an unknown field is a typo, not a newer version. */
    private static final ObjectReader STRICT = MAPPER.reader().with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private JsonCodec() {
    }

    /** One line of JSON (a runs.jsonl line, `run --json`). */
    public static String line(Object value) {
        return MAPPER.writeValueAsString(value);
    }

    /** Indented JSON for files people open (summary.json). */
    public static String pretty(Object value) {
        return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(value);
    }

    public static JsonNode tree(String json) {
        return MAPPER.readTree(json);
    }

    public static <T> T read(String json, Class<T> type) {
        return MAPPER.readValue(json, type);
    }

    public static <T> T readStrict(String json, Class<T> type) {
        return STRICT.forType(type).readValue(json);
    }

    /** Converts a tree or a record into another type, e.g. a cycle array into its records. */
    public static <T> T convert(Object from, Class<T> type) {
        return MAPPER.convertValue(from, type);
    }

    public static RunRecord readRun(String json) {
        return read(json, RunRecord.class);
    }

    /**
     * Every run of a runs.jsonl file, in file order; a line that does not parse is an error naming the file
     * and line (a shard killed mid-write leaves a torn last line, which is skipped: it never finished).
     */
    public static List<RunRecord> readRuns(Path jsonl) throws IOException {
        List<String> lines = Files.readAllLines(jsonl, StandardCharsets.UTF_8);
        List<RunRecord> runs = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i).strip();
            if (l.isEmpty()) {
                continue;
            }
            try {
                runs.add(readRun(l));
            } catch (JacksonException e) {
                if (i == lines.size() - 1) {
                    break;
                }
                throw new IOException(jsonl + ":" + (i + 1) + ": not a run: " + e.getOriginalMessage(), e);
            }
        }
        return runs;
    }

    public static void writeFile(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
