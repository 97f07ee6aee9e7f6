package dev.reclaimlab.cli.report;

import java.util.List;

/**
 * A wait-for cycle drawn as a graph: the nodes on a circle in cycle order, each an arrow to the node it
 * waits for, labelled with what it waits on. Used for the watchdog's task cycles and lockdep's lock chains.
 * Edges bow outwards, so the two edges of a two-node cycle do not overlap.
 */
final class CycleSvg {
    static final int WIDTH = 900;
    private static final int NODE_W = 210;
    private static final int NODE_H = 46;
    private static final int LABEL_CHARS = 30;
    /** Width of a 12 px monospace character, for keeping labels inside the picture. */
    private static final double CHAR_W = 7.3;
    private static final int LINE_H = 14;

    /** A node: its label and a second, smaller line (the guilty frame, or a lock's role). */
    record Node(String label, String detail) {
    }

    private CycleSvg() {
    }

    /**
     * @param nodes  in cycle order
     * @param edges  edges.get(i) labels the arrow from node i to node i+1 (the last one back to the first)
     * @param cssClass "cycle" for tasks, "lock-graph" for lock classes
     */
    static String draw(String id, List<Node> nodes, List<String> edges, String cssClass, String nodeClass) {
        int n = nodes.size();
        int height = n <= 2 ? 300 : 420;
        double cx = WIDTH / 2.0;
        double cy = height / 2.0;
        double rx = n <= 2 ? 230 : 250;
        double ry = n <= 2 ? 0 : 140;
        double[][] at = new double[n][2];
        for (int i = 0; i < n; i++) {
            double a = n == 1 ? -Math.PI / 2 : n == 2 ? Math.PI * (1 - i) : -Math.PI / 2 + 2 * Math.PI * i / n;
            at[i][0] = cx + (n == 1 ? 0 : rx * Math.cos(a));
            at[i][1] = cy + (n == 1 ? 30 : (n == 2 ? 0 : ry * Math.sin(a)));
        }
        StringBuilder sb = new StringBuilder();
        sb.append("<svg class=\"").append(cssClass).append("\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ")
                .append(WIDTH).append(' ').append(height).append("\" role=\"img\" aria-label=\"wait-for graph\">\n");
        String marker = "arrow-" + id;
        sb.append("<defs><marker id=\"").append(marker).append("\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\"")
                .append(" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">")
                .append("<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b71c1c\"/></marker></defs>\n");
        for (int i = 0; i < n; i++) {
            edge(sb, at, i, (i + 1) % n, cx, cy, edges.get(i), marker);
        }
        for (int i = 0; i < n; i++) {
            Node node = nodes.get(i);
            double x = at[i][0] - NODE_W / 2.0;
            double y = at[i][1] - NODE_H / 2.0;
            sb.append("<g class=\"").append(nodeClass).append("\"><rect x=\"").append(Html.n(x)).append("\" y=\"")
                    .append(Html.n(y)).append("\" width=\"").append(NODE_W).append("\" height=\"").append(NODE_H)
                    .append("\" rx=\"8\"/><text x=\"").append(Html.n(at[i][0])).append("\" y=\"").append(Html.n(y + 19))
                    .append("\" class=\"label\">").append(Html.esc(node.label())).append("</text><text x=\"")
                    .append(Html.n(at[i][0])).append("\" y=\"").append(Html.n(y + 36)).append("\" class=\"detail\">")
                    .append(Html.esc(clip(node.detail(), 34))).append("</text><title>").append(Html.esc(node.label()))
                    .append(node.detail() == null ? "" : ": " + Html.esc(node.detail())).append("</title></g>\n");
        }
        return sb.append("</svg>").toString();
    }

    private static void edge(StringBuilder sb, double[][] at, int from, int to, double cx, double cy, String label,
                             String marker) {
        double x1 = at[from][0];
        double y1 = at[from][1];
        double x2 = at[to][0];
        double y2 = at[to][1];
        double mx;
        double my;
        double ox;
        double oy;
        if (from == to) {
            // A task waiting for itself: a loop above the node.
            mx = x1;
            my = y1 - 120;
            ox = 0;
            oy = -1;
            sb.append("<path class=\"edge\" d=\"M").append(Html.n(x1 - 40)).append(',')
                    .append(Html.n(y1 - NODE_H / 2.0))
                    .append(" C").append(Html.n(x1 - 90)).append(',').append(Html.n(y1 - 130)).append(' ')
                    .append(Html.n(x1 + 90)).append(',').append(Html.n(y1 - 130)).append(' ')
                    .append(Html.n(x1 + 40)).append(',').append(Html.n(y1 - NODE_H / 2.0))
                    .append("\" marker-end=\"url(#")
                    .append(marker).append(")\"/>\n");
        } else {
            double midx = (x1 + x2) / 2;
            double midy = (y1 + y2) / 2;
            ox = midx - cx;
            oy = midy - cy;
            double len = Math.hypot(ox, oy);
            if (len < 1) {
                // Two nodes: the edge normal, one side for each direction.
                ox = 0;
                oy = x2 > x1 ? -1 : 1;
            } else {
                ox /= len;
                oy /= len;
            }
            double bow = 70;
            double qx = midx + ox * bow * 2;
            double qy = midy + oy * bow * 2;
            double[] s = clipToNode(x1, y1, qx, qy);
            double[] e = clipToNode(x2, y2, qx, qy);
            sb.append("<path class=\"edge\" d=\"M").append(Html.n(s[0])).append(',').append(Html.n(s[1])).append(" Q")
                    .append(Html.n(qx)).append(',').append(Html.n(qy)).append(' ').append(Html.n(e[0])).append(',')
                    .append(Html.n(e[1])).append("\" marker-end=\"url(#").append(marker).append(")\"/>\n");
            // The curve's midpoint is halfway between the chord's midpoint and the control point.
            mx = (midx + qx) / 2 + (s[0] + e[0] - x1 - x2) / 4;
            my = (midy + qy) / 2 + (s[1] + e[1] - y1 - y2) / 4;
        }
        String anchor = Math.abs(ox) < 0.35 ? "middle" : ox > 0 ? "start" : "end";
        List<String> lines = wrap(label, LABEL_CHARS);
        double w = lines.stream().mapToInt(String::length).max().orElse(0) * CHAR_W;
        double lx = mx + ox * 8;
        double ly = my + oy * 8 + (oy < -0.35 ? -4 - LINE_H * (lines.size() - 1) : oy > 0.35 ? 12 : 4);
        // Keep the label inside the picture.
        double left = anchor.equals("start") ? lx : anchor.equals("end") ? lx - w : lx - w / 2;
        lx += Math.max(0, 4 - left) - Math.max(0, left + w - (WIDTH - 4));
        sb.append("<text class=\"edge-label\" text-anchor=\"").append(anchor).append("\" x=\"").append(Html.n(lx))
                .append("\" y=\"").append(Html.n(ly)).append("\">");
        for (int i = 0; i < lines.size(); i++) {
            sb.append("<tspan x=\"").append(Html.n(lx)).append("\" dy=\"")
                    .append(i == 0 ? "0" : Integer.toString(LINE_H))
                    .append("\">").append(Html.esc(lines.get(i))).append("</tspan>");
        }
        sb.append("<title>").append(Html.esc(label)).append("</title></text>\n");
    }

    /** Splits a label at spaces into at most two lines of about {@code max} characters. */
    static List<String> wrap(String s, int max) {
        if (s == null) {
            return List.of("");
        }
        if (s.length() <= max) {
            return List.of(s);
        }
        int cut = s.lastIndexOf(' ', max);
        if (cut <= 0) {
            cut = max;
        }
        return List.of(s.substring(0, cut), clip(s.substring(cut).strip(), max));
    }

    /** Where the line from a node's centre towards (tx, ty) leaves the node's box. */
    private static double[] clipToNode(double x, double y, double tx, double ty) {
        double dx = tx - x;
        double dy = ty - y;
        double t = Math.min(dx == 0 ? Double.MAX_VALUE : (NODE_W / 2.0 + 4) / Math.abs(dx),
                dy == 0 ? Double.MAX_VALUE : (NODE_H / 2.0 + 4) / Math.abs(dy));
        return new double[] {x + dx * t, y + dy * t};
    }

    static String clip(String s, int max) {
        if (s == null) {
            return "";
        }
        return s.length() <= max ? s : s.substring(0, max - 1) + "\u2026";
    }
}
