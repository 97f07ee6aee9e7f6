package dev.reclaimlab.cli.report;

import dev.reclaimlab.scenario.Outcome;

import java.util.Locale;

/** HTML and SVG text helpers: escaping, numbers, the outcome colours every part of the report shares. */
final class Html {
    private Html() {
    }

    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** A number for SVG coordinates: one decimal, dot separator whatever the locale. */
    static String n(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String colour(Outcome o) {
        return switch (o) {
            case DEADLOCK -> "#c62828";
            case STALL -> "#ef6c00";
            case LOCKDEP -> "#6a1b9a";
            case CLEAN -> "#2e7d32";
            case ERROR -> "#546e7a";
        };
    }

    /** An id fragment from any text: letters, digits and dashes. */
    static String id(String s) {
        return s.replaceAll("[^A-Za-z0-9]+", "-").replaceAll("(^-|-$)", "").toLowerCase(Locale.ROOT);
    }
}
