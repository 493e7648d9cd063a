"""Charts drawn on the server as inline SVG: bars (records per day, histograms) and lines.

Every chart has a ``<title>`` and ``<desc>`` (referenced by ``aria-labelledby``), each bar or
point a tooltip ``<title>``; colours come from CSS classes, so nothing is styled inline and
the page's Content-Security-Policy holds. Text is escaped; numbers are integers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from api.explorer.fmt import num

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 34
SERIES_CLASSES = ("s1", "s2", "s3", "s4", "s5", "s6")


def _open(chart_id: str, title: str, desc: str, height: int = HEIGHT,
          width: int = WIDTH) -> list[str]:
    return [f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
            f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>']


def _nice_max(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least ``value`` (at least 1)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _axis(parts: list[str], top_value: int, plot_h: int, width: int = WIDTH) -> None:
    for k in range(3):
        value = top_value * k // 2
        y = TOP + plot_h - plot_h * k // 2
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y}" y2="{y}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4}" '
                     f'text-anchor="end">{escape(num(value))}</text>')


def _empty(parts: list[str], width: int = WIDTH) -> Markup:
    parts.append(f'<text class="axis" x="{width // 2}" y="{HEIGHT // 2}" '
                 'text-anchor="middle">no data yet</text></svg>')
    return Markup("".join(parts))


def bar_chart(items: Sequence[tuple[str, int]], *, chart_id: str, title: str,
              unit: str = "", width: int = WIDTH) -> Markup:
    """Vertical bars, one per (label, value); about ten labels shown under the axis."""
    desc = "; ".join(f"{label}: {num(value)} {unit}".strip() for label, value in items[-40:])
    parts = _open(chart_id, title, desc or "no data", width=width)
    if not items:
        return _empty(parts, width)
    plot_w, plot_h = width - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max(v for _, v in items))
    _axis(parts, top_value, plot_h, width)
    slot = plot_w / len(items)
    every = max(1, (len(items) + 9) // 10)
    for i, (label, value) in enumerate(items):
        h = plot_h * value // top_value
        x = LEFT + i * slot
        parts.append(f'<rect class="bar" x="{x + slot * 0.12:.1f}" y="{TOP + plot_h - h}" '
                     f'width="{max(slot * 0.76, 1):.1f}" height="{h}"><title>'
                     f'{escape(label)}: {escape(num(value))} {escape(unit)}</title></rect>')
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x + slot / 2:.1f}" y="{HEIGHT - 12}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *,
               chart_id: str, title: str, unit: str = "") -> Markup:
    """One polyline per (name, values); values align with ``labels``; a legend on top."""
    shown = [(name, values) for name, values in series if any(values)]
    desc = "; ".join(f"{name}: {num(sum(values))} {unit} in total".strip()
                     for name, values in shown)
    parts = _open(chart_id, title, desc or "no data", HEIGHT + 20)
    if not labels or not shown:
        return _empty(parts)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top_value = _nice_max(max(max(values) for _, values in shown))
    _axis(parts, top_value, plot_h)
    step = plot_w / max(len(labels) - 1, 1)
    every = max(1, (len(labels) + 7) // 8)
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f'<text class="axis" x="{LEFT + i * step:.1f}" y="{HEIGHT - 12}" '
                         f'text-anchor="middle">{escape(label)}</text>')
    for n, (name, values) in enumerate(series):
        css = SERIES_CLASSES[n % len(SERIES_CLASSES)]
        x_legend = LEFT + n * 120
        parts.append(f'<rect class="key {css}" x="{x_legend}" y="{HEIGHT + 2}" width="10" '
                     f'height="10"/><text class="axis" x="{x_legend + 14}" y="{HEIGHT + 11}">'
                     f'{escape(name)}</text>')
        if not any(values):
            continue
        points = " ".join(f"{LEFT + i * step:.1f},{TOP + plot_h - plot_h * v // top_value}"
                          for i, v in enumerate(values))
        parts.append(f'<polyline class="line {css}" points="{points}"><title>{escape(name)}: '
                     f'{escape(num(sum(values)))} {escape(unit)}</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram(buckets: Sequence[tuple[int, int]], *, chart_id: str, title: str) -> Markup:
    """Holders by balance decade: ``(digits, holders)`` -> bars labelled ``10–99`` etc."""
    items = [(_decade(digits), count) for digits, count in buckets]
    return bar_chart(items, chart_id=chart_id, title=title, unit="holders", width=420)


def _decade(digits: int) -> str:
    """Balances with ``digits`` digits: ``[10**(digits-1), 10**digits)``, e.g. ``1k–10k``."""
    low = 10 ** (digits - 1)
    return f"{_compact(low)}–{_compact(low * 10)}"


def _compact(value: int) -> str:
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= size:
            return f"{value // size}{suffix}"
    return str(value)
