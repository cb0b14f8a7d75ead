#!/usr/bin/env python3
"""Turns the table that Scripts/bench-compare.sh prints into an SVG bar chart.

Usage: Scripts/bench-compare.sh | Scripts/bench-chart.py > Docs/benchmarks.svg
       Scripts/bench-chart.py table.txt > Docs/benchmarks.svg

One bar per workload row that has a Go/Weft ratio, on a log scale centred on parity (1x):
bars to the right mean Weft is faster, to the left slower. The header lines of the table
(machine, swift, go, date) become the chart's caption. Standard library only.
"""
import math
import sys
from xml.sax.saxutils import escape


def parse(lines):
    """Returns (caption lines, [(workload, ratio)]) from bench-compare.sh's output."""
    caption, rows, in_table = [], [], False
    for line in lines:
        line = line.rstrip("\n")
        if line.startswith("workload") and "go/weft" in line:
            in_table = True
            continue
        if not in_table:
            if line.split(":", 1)[0] in ("machine", "swift", "go", "date"):
                caption.append(line)
            continue
        if not line.strip() or ":" in line.split()[0]:
            in_table = False  # the bytes_per_task lines after the table
            continue
        fields = line.split()
        ratio = fields[-1]
        try:
            value = float(ratio)
        except ValueError:
            continue  # a row without a ratio ("-")
        # Columns from the right: ratio, go ns/op, weft ns/op (each may carry " FAIL").
        name_end = len(fields) - 3
        while name_end > 1 and fields[name_end - 1] == "FAIL":
            name_end -= 1
        rows.append((" ".join(fields[:name_end]), value))
    return caption, rows


def svg(caption, rows):
    bar_h, gap, width = 18, 6, 420
    left = 20 + int(6.8 * max(len(name) for name, _ in rows))  # room for the longest name
    top = 30 + 16 * len(caption)
    height = top + len(rows) * (bar_h + gap) + 40
    span = max([2.0] + [max(r, 1 / r) for _, r in rows if r > 0])
    half = width / 2
    scale = half / math.log(span * 1.1)

    def x(ratio):
        return left + half + math.log(ratio) * scale

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 70}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="14" font-weight="bold">Weft vs Go: Go ns/op ÷ Weft ns/op '
           '(right of 1× = Weft faster)</text>']
    for i, c in enumerate(caption):
        out.append(f'<text x="10" y="{34 + 16 * i}" fill="#555">{escape(c)}</text>')
    for i, (name, ratio) in enumerate(rows):
        y = top + i * (bar_h + gap)
        x0, x1 = sorted((x(1.0), x(ratio)))
        colour = "#2a7" if ratio >= 1 else "#d55"
        out.append(f'<text x="{left - 8}" y="{y + bar_h - 5}" text-anchor="end">{escape(name)}</text>')
        out.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="{bar_h}" fill="{colour}"/>')
        # Every ratio in one column on the right, where no bar or name can cover it.
        out.append(f'<text x="{left + width + 8}" y="{y + bar_h - 5}" fill="{colour}">{ratio:.2f}×</text>')
    axis_y = top + len(rows) * (bar_h + gap)
    out.append(f'<line x1="{x(1.0):.1f}" y1="{top - 4}" x2="{x(1.0):.1f}" y2="{axis_y}" stroke="black"/>')
    for tick in (0.25, 0.5, 1, 2, 5, 10):
        if 1 / (span * 1.1) < tick < span * 1.1:
            tx = x(tick)
            out.append(f'<line x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 5}" stroke="black"/>')
            out.append(f'<text x="{tx:.1f}" y="{axis_y + 18}" text-anchor="middle">{tick:g}×</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    lines = open(sys.argv[1]).readlines() if len(sys.argv) > 1 else sys.stdin.readlines()
    caption, rows = parse(lines)
    if not rows:
        sys.exit("bench-chart: no table rows with a go/weft ratio in the input")
    sys.stdout.write(svg(caption, rows))


if __name__ == "__main__":
    main()
