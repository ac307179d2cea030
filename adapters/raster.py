"""Paint a :class:`g5kpure.plots.scene.Scene` as PNG with Pillow, and write scenes to files (PNG or SVG).

Texts are set in DejaVu Sans, the font the scene's widths are estimated from: matplotlib's bundled copy, found
without importing matplotlib, else Pillow's own scalable font. Translucent fills are blended over what is below.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import itertools
from pathlib import Path

from g5k.reference_data import write_atomically
from PIL import Image, ImageDraw, ImageFont
from returns.io import IOFailure, IOResult, IOSuccess

from g5kpure.errors import G5kError, InvalidInput
from g5kpure.plots.scene import DASH, Line, Rect, Scene, Text, primitives, text_lines, to_svg

PNG_COMPRESSION = 1
"""zlib level of the PNG figures: flat-coloured figures shrink little more at the default level 6, for more time."""
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}


def _font_file(bold: bool) -> Path | None:
    """matplotlib's DejaVu Sans (the package located, not imported), if installed."""
    spec = importlib.util.find_spec("matplotlib")
    for root in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(root) / "mpl-data" / "fonts" / "ttf" / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=32)
def font(size: float, bold: bool = False) -> Font:
    """DejaVu Sans at ``size`` pixels (Pillow's default scalable font when it cannot be found)."""
    path = _font_file(bold)
    if path is not None:
        return ImageFont.truetype(str(path), size=size)
    return ImageFont.load_default(size=size)


def _rgba(colour: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    value = colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), round(255 * opacity)


def _box(x: float, y: float, w: float, h: float) -> tuple[int, int, int, int]:
    """Pixel bounds of a rectangle: neighbours sharing an edge share no pixel."""
    return round(x), round(y), max(round(x), round(x + w) - 1), max(round(y), round(y + h) - 1)


def _dashes(points: tuple[tuple[float, float], ...]) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The dashes of a dashed polyline, as segments."""
    out = []
    on, off = DASH
    phase = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = ((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5
        at = -phase
        while at < length:
            a, b = max(at, 0.0), min(at + on, length)
            if b > a:
                out.append(((x0 + (x1 - x0) * a / length, y0 + (y1 - y0) * a / length),
                            (x0 + (x1 - x0) * b / length, y0 + (y1 - y0) * b / length)))
            at += on + off
        phase = (length + phase) % (on + off)
    return out


def _text(image: Image.Image, draw: ImageDraw.ImageDraw, t: Text) -> None:
    face = font(t.size, t.bold)
    fill = _rgba(t.colour)
    for x, y, line in text_lines(t):
        if t.rotation == 0:
            draw.text((x, y), line, fill=fill, font=face, anchor=_ANCHORS[t.anchor])
            continue
        ascent, descent = (face.getmetrics() if isinstance(face, ImageFont.FreeTypeFont)
                           else (round(t.size), round(t.size * 0.3)))
        length = round(face.getlength(line)) + 2
        strip = Image.new("L", (length, ascent + descent), 0)
        ImageDraw.Draw(strip).text((1, ascent), line, fill=255, font=face, anchor="ls")
        upright = strip.rotate(90, expand=True)  # reads upwards; the baseline is the column at ``ascent``
        top = {"start": y - length, "middle": y - length / 2, "end": y}[t.anchor]
        image.paste(Image.new("RGB", upright.size, fill[:3]), (round(x - ascent), round(top)), upright)


def render_png(scene: Scene) -> bytes:
    """``scene`` painted as a PNG image of its size."""
    image = Image.new("RGB", (scene.width, scene.height), _rgba(scene.background)[:3])
    draw = ImageDraw.Draw(image, "RGBA")
    for p in primitives(scene):
        if isinstance(p, Rect):
            bounds = _box(p.x, p.y, p.w, p.h)
            if p.fill is not None:
                draw.rectangle(bounds, fill=_rgba(p.fill, p.opacity))
            if p.stroke is not None:
                draw.rectangle(bounds, outline=_rgba(p.stroke), width=max(1, round(p.width)))
        elif isinstance(p, Line):
            width = max(1, round(p.width))
            segments = _dashes(p.points) if p.dashed else [p.points]
            for segment in segments:
                draw.line([(round(x), round(y)) for x, y in segment], fill=_rgba(p.colour), width=width,
                          joint="curve" if len(segment) > 2 and width > 1 else None)
        else:
            _text(image, draw, p)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESSION)
    return buffer.getvalue()


def save_scene(scene: Scene, path: Path) -> IOResult[Path, G5kError]:
    """Write ``scene`` to ``path`` as PNG or SVG (from the suffix) through a temporary file and a rename, so that
    no half-written file is ever left; the directory is created if needed."""
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        return IOFailure(InvalidInput("output file", str(path), "a path ending in .png or .svg"))
    try:
        write_atomically(path, render_png(scene) if fmt == "png" else to_svg(scene).encode())
        path.chmod(0o644)  # a figure is for anyone to read, as the files saved before it were
        return IOSuccess(path)
    except OSError as exc:
        return IOFailure(InvalidInput("output file", str(path), f"a writable path ({exc})"))
