"""A figure as a value: a canvas in pixels (y downwards) and a list of drawing primitives, painted in order.

The primitives are filled or stroked rectangles, polylines (plain or dashed), texts (size in pixels, anchor,
vertical alignment, rotation by 90 degrees, an optional box behind), a legend row and a colour bar. The two last
and the boxes of texts are lowered (:func:`lower`) into the three first, so that a renderer draws rectangles,
lines and texts only, and every renderer lays them out alike. :func:`to_svg` writes a scene as SVG text; a PNG is
painted by an adapter (``g5k.raster``).

Text widths are estimated from the metrics of DejaVu Sans (the font renderers use): the core measures nothing.
"""

from __future__ import annotations

from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from attrs import evolve, frozen

Anchor = Literal["start", "middle", "end"]
VAlign = Literal["top", "middle", "baseline", "bottom"]
Mark = Literal["box", "frame", "line", "dashed"]
FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif"
LINE_HEIGHT = 1.2
"""Distance between the baselines of two lines of a text, in font sizes."""
ASCENT = 0.76
DESCENT = 0.24
DASH = (6.0, 3.5)
"""Lengths of a dashed line's dashes and gaps, in pixels."""


@frozen
class Rect:
    """A rectangle: ``fill`` (``None``: none) at ``opacity``, ``stroke`` (``None``: none) of ``width`` pixels."""

    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    stroke: str | None = None
    width: float = 1.0
    opacity: float = 1.0
    role: str = ""


@frozen
class Line:
    """A polyline through ``points``, plain or dashed."""

    points: tuple[tuple[float, float], ...]
    colour: str
    width: float = 1.0
    dashed: bool = False
    role: str = ""


@frozen
class Text:
    """A text, possibly of several lines, at (``x``, ``y``): ``anchor`` places it along its lines, ``valign``
    across them; ``rotation`` 90 reads upwards. ``background`` and ``border`` draw a box behind it."""

    x: float
    y: float
    text: str
    size: float = 11.0
    colour: str = "#000000"
    anchor: Anchor = "start"
    valign: VAlign = "baseline"
    bold: bool = False
    rotation: Literal[0, 90] = 0
    background: str | None = None
    border: str | None = None
    role: str = ""


@frozen
class LegendEntry:
    """One entry of a legend: a mark of ``colour`` and its label."""

    label: str
    colour: str
    mark: Mark = "box"


@frozen
class Legend:
    """A row of entries centred on ``x``, their middle at ``y``."""

    x: float
    y: float
    entries: tuple[LegendEntry, ...]
    size: float = 11.0


@frozen
class ColourBar:
    """A vertical bar of ``colour`` from transparent (bottom, 0) to opaque (top, 1) over ``background``, its
    ``ticks`` (value, label) on the right and its ``label`` along it."""

    x: float
    y: float
    w: float
    h: float
    colour: str
    label: str
    ticks: tuple[tuple[float, str], ...] = ()
    background: str = "#ffffff"
    size: float = 10.0


Primitive = Rect | Line | Text
Element = Rect | Line | Text | Legend | ColourBar


@frozen
class Scene:
    """A canvas of ``width`` x ``height`` pixels on ``background``, and its elements in painting order."""

    width: int
    height: int
    elements: tuple[Element, ...]
    background: str = "#ffffff"


# --------------------------------------------------------------------------------------------- measuring

_NARROW = frozenset("iljtfI.,:;'|!()[]{} -/")
_WIDE = frozenset("mwMW%@")


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The estimated width in pixels of the longest line of ``text`` at ``size`` (DejaVu Sans' advances)."""
    def line(s: str) -> float:
        em = 0.0
        for c in s:
            if c in _NARROW:
                em += 0.33
            elif c in _WIDE:
                em += 0.9
            elif c.isdigit():
                em += 0.636
            elif c.isupper():
                em += 0.72
            else:
                em += 0.6
        return em * size * (1.08 if bold else 1.0)

    return max((line(s) for s in text.split("\n")), default=0.0)


def text_lines(t: Text) -> tuple[tuple[float, float, str], ...]:
    """The baseline point and text of each line of ``t``: across the lines (downwards, or rightwards when
    rotated) as ``valign`` says; along them, ``anchor`` still applies at that point."""
    lines = t.text.split("\n")
    step = t.size * LINE_HEIGHT
    span = (len(lines) - 1) * step
    first = {"top": ASCENT * t.size, "middle": 0.36 * t.size - span / 2, "baseline": 0.0,
             "bottom": -DESCENT * t.size - span}[t.valign]
    if t.rotation == 90:
        return tuple((t.x + first + i * step, t.y, s) for i, s in enumerate(lines))
    return tuple((t.x, t.y + first + i * step, s) for i, s in enumerate(lines))


def text_box(t: Text, pad: float = 3.0) -> Rect:
    """The estimated box around an unrotated text, ``pad`` pixels out."""
    width = text_width(t.text, t.size, bold=t.bold)
    lines = text_lines(t)
    left = {"start": t.x, "middle": t.x - width / 2, "end": t.x - width}[t.anchor]
    top = lines[0][1] - ASCENT * t.size
    bottom = lines[-1][1] + DESCENT * t.size
    return Rect(left - pad, top - pad, width + 2 * pad, bottom - top + 2 * pad)


# --------------------------------------------------------------------------------------------- lowering

MARK_WIDTH = 22.0


def _legend(legend: Legend) -> tuple[Primitive, ...]:
    gap, space = 6.0, 24.0
    widths = [MARK_WIDTH + gap + text_width(e.label, legend.size) for e in legend.entries]
    x = legend.x - (sum(widths) + space * (len(widths) - 1)) / 2
    y = legend.y
    out: list[Primitive] = []
    for entry, width in zip(legend.entries, widths, strict=True):
        if entry.mark == "box":
            out.append(Rect(x, y - 4, MARK_WIDTH, 8, fill=entry.colour, role="legend"))
        elif entry.mark == "frame":
            out.append(Rect(x + 1, y - 4, MARK_WIDTH - 2, 8, stroke=entry.colour, width=2, role="legend"))
        else:
            out.append(Line(((x, y), (x + MARK_WIDTH, y)), entry.colour, 1.5, entry.mark == "dashed", role="legend"))
        out.append(Text(x + MARK_WIDTH + gap, y, entry.label, legend.size, valign="middle", role="legend"))
        x += width + space
    return tuple(out)


def _colour_bar(bar: ColourBar) -> tuple[Primitive, ...]:
    steps = 40
    each = bar.h / steps
    out: list[Primitive] = [Rect(bar.x, bar.y, bar.w, bar.h, fill=bar.background)]
    out += [Rect(bar.x, bar.y + bar.h - (i + 1) * each, bar.w, each, fill=bar.colour, opacity=(i + 0.5) / steps)
            for i in range(steps)]
    out.append(Rect(bar.x, bar.y, bar.w, bar.h, stroke="#000000", width=0.8))
    right = bar.x + bar.w
    for value, label in bar.ticks:
        y = bar.y + bar.h * (1 - value)
        out.append(Line(((right, y), (right + 4, y)), "#000000", 0.8))
        out.append(Text(right + 6, y, label, bar.size, valign="middle", role="colourbar"))
    widest = max((text_width(label, bar.size) for _, label in bar.ticks), default=0.0)
    out.append(Text(right + 12 + widest, bar.y + bar.h / 2, bar.label, bar.size + 1, anchor="middle",
                    valign="top", rotation=90, role="colourbar"))
    return tuple(out)


def lower(element: Element) -> tuple[Primitive, ...]:
    """The rectangles, lines and texts that draw ``element``: a legend, a colour bar, the box behind a text."""
    if isinstance(element, Legend):
        return _legend(element)
    if isinstance(element, ColourBar):
        return _colour_bar(element)
    if isinstance(element, Text) and (element.background or element.border) and element.rotation == 0:
        box = evolve(text_box(element, 3.0 if element.border else 1.0), fill=element.background,
                     stroke=element.border, width=1.0)
        return box, evolve(element, background=None, border=None)
    return (element,)


def primitives(scene: Scene) -> tuple[Primitive, ...]:
    """Every element of ``scene`` lowered, in painting order."""
    return tuple(p for element in scene.elements for p in lower(element))


def texts(scene: Scene, role: str | None = None) -> list[str]:
    """The texts of ``scene`` (of one ``role``, or all), in painting order."""
    return [p.text for p in primitives(scene) if isinstance(p, Text) and (role is None or p.role == role)]


# --------------------------------------------------------------------------------------------- SVG


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _svg(p: Primitive) -> str:
    if isinstance(p, Rect):
        fill = p.fill or "none"
        opacity = f' fill-opacity="{_n(p.opacity)}"' if p.fill and p.opacity < 1 else ""
        stroke = f' stroke="{p.stroke}" stroke-width="{_n(p.width)}"' if p.stroke else ""
        return (f'<rect x="{_n(p.x)}" y="{_n(p.y)}" width="{_n(p.w)}" height="{_n(p.h)}" fill="{fill}"'
                f"{opacity}{stroke}/>")
    if isinstance(p, Line):
        points = " ".join(f"{_n(x)},{_n(y)}" for x, y in p.points)
        dash = f' stroke-dasharray="{_n(DASH[0])},{_n(DASH[1])}"' if p.dashed else ""
        return (f'<polyline points="{points}" fill="none" stroke="{p.colour}" stroke-width="{_n(p.width)}"'
                f"{dash}/>")
    anchor = f' text-anchor="{p.anchor}"' if p.anchor != "start" else ""
    weight = ' font-weight="bold"' if p.bold else ""
    out = []
    for x, y, line in text_lines(p):
        turn = f' transform="rotate(-90 {_n(x)} {_n(y)})"' if p.rotation == 90 else ""
        out.append(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(p.size)}" fill="{p.colour}"{anchor}{weight}'
                   f"{turn}>{escape(line)}</text>")
    return "".join(out)


def to_svg(scene: Scene) -> str:
    """``scene`` as an SVG document."""
    head = (f'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
            f'width="{scene.width}" height="{scene.height}" viewBox="0 0 {scene.width} {scene.height}" '
            f"font-family={quoteattr(FONT_FAMILY)}>\n")
    body = "\n".join(_svg(p) for p in primitives(scene))
    return f'{head}<rect width="100%" height="100%" fill="{scene.background}"/>\n{body}\n</svg>\n'

