"""Latency vs sparsity as an SVG, written by hand (no plotting library needed).

One panel per (model, thread count): x is the channel sparsity (0, 25, 50, 75 %), y the median
latency in ms from 0; one line per engine, plus a dashed line for our dense latency scaled
by the FLOPs left (what a speedup that tracks the FLOP reduction would give).
"""
import html
import math

ENGINES = [  # (row key, legend, colour, dashed)
    ("ours_ms", "structprune", "#1f77b4", False),
    ("torch_ms", "PyTorch", "#ff7f0e", False),
    ("ort_ms", "ONNX Runtime", "#2ca02c", False),
    ("ideal_ms", "structprune dense x FLOPs left", "#7f7f7f", True),
]
PANEL_W, PANEL_H = 330, 230
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 30, 42  # margins inside a panel
LEGEND_H = 40


def _nice_step(span, ticks=5):
    raw = span / ticks
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def _fmt(v):
    return f"{v:g}" if v >= 1 or v == 0 else f"{v:.2g}"


def _panel(x0, y0, title, series, sparsities):
    """SVG elements of one panel; `series` maps row key -> [(sparsity, ms or None)]."""
    values = [ms for pts in series.values() for _, ms in pts if ms is not None]
    step = _nice_step(max(values) if values else 1.0)
    y_max = step * math.ceil((max(values) if values else 1.0) / step)
    w, h = PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM
    sx = lambda s: x0 + LEFT + w * s / max(sparsities[-1], 1)
    sy = lambda ms: y0 + TOP + h * (1 - ms / y_max)
    out = [f'<text x="{x0 + LEFT + w / 2}" y="{y0 + 18}" text-anchor="middle" '
           f'font-weight="bold">{html.escape(title)}</text>',
           f'<rect x="{x0 + LEFT}" y="{y0 + TOP}" width="{w}" height="{h}" fill="none" '
           'stroke="#999"/>']
    tick = 0.0
    while tick <= y_max + step / 2:
        y = sy(tick)
        out.append(f'<line x1="{x0 + LEFT}" x2="{x0 + LEFT + w}" y1="{y}" y2="{y}" stroke="#eee"/>')
        out.append(f'<text x="{x0 + LEFT - 5}" y="{y + 4}" text-anchor="end">{_fmt(tick)}</text>')
        tick += step
    for s in sparsities:
        out.append(f'<text x="{sx(s)}" y="{y0 + TOP + h + 15}" text-anchor="middle">{s}%</text>')
    out.append(f'<text x="{x0 + LEFT + w / 2}" y="{y0 + PANEL_H - 8}" text-anchor="middle">'
               'channel sparsity</text>')
    out.append(f'<text transform="translate({x0 + 14},{y0 + TOP + h / 2}) rotate(-90)" '
               'text-anchor="middle">median latency (ms)</text>')
    for key, _, colour, dashed in ENGINES:
        pts = [(sx(s), sy(ms)) for s, ms in series.get(key, []) if ms is not None]
        if not pts:
            continue
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
        if not dashed:
            out.extend(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in pts)
    return out


def write_svg(rows, path, title):
    """rows: dicts with model, threads, sparsity and the ENGINES keys (ms or None)."""
    models = list(dict.fromkeys(r["model"] for r in rows))
    threads = sorted({r["threads"] for r in rows})
    sparsities = sorted({r["sparsity"] for r in rows})
    width, height = PANEL_W * len(threads), LEGEND_H + PANEL_H * len(models)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="16" text-anchor="middle" font-size="13">'
           f'{html.escape(title)}</text>']
    x = 10
    for _, legend, colour, dashed in ENGINES:
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        out.append(f'<line x1="{x}" x2="{x + 22}" y1="31" y2="31" stroke="{colour}" '
                   f'stroke-width="2"{dash}/>')
        out.append(f'<text x="{x + 26}" y="35">{html.escape(legend)}</text>')
        x += 40 + 6.5 * len(legend)
    for i, model in enumerate(models):
        for j, t in enumerate(threads):
            mine = sorted((r for r in rows if r["model"] == model and r["threads"] == t),
                          key=lambda r: r["sparsity"])
            series = {key: [(r["sparsity"], r.get(key)) for r in mine] for key, *_ in ENGINES}
            name = f"{model}, {t} thread{'s' if t > 1 else ''}"
            out.extend(_panel(PANEL_W * j, LEGEND_H + PANEL_H * i, name, series, sparsities))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
