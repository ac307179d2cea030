"""Gantt and slots figures of a planning: data in, a :class:`~g5kpure.plots.scene.Scene` out (pixels, 100 per
inch), which ``to_svg`` writes as SVG and the adapter ``g5k.raster`` paints as PNG.

The gantt shows what is taken: jobs are dark bars on a light background, so that the free time the eye looks for
is the empty space; rows are grouped under a header per site and labelled per cluster; the usage charter's periods
are shaded and the chosen slot is framed in red, both named in the legend. Past :data:`HEATMAP_HOSTS` hosts a row
per host is too thin to read, and the gantt becomes one row per cluster: the share of its hosts that are busy,
hour by hour, as the opacity of the busy colour (a colour bar reads it).

The slots figure draws one panel per wanted element: its free hosts over the slot starts, a line at the count
wanted, the starts where it falls short shaded, and the chosen start marked and annotated. Dates are
Europe/Paris wall-clock time.
"""

from __future__ import annotations

import colorsys
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from g5kpure.hosts import natural_key
from g5kpure.oar.dates import PARIS
from g5kpure.planning.model import HostPlanning, Planning, paris_time
from g5kpure.planning.slots import Slots
from g5kpure.plots.scene import ColourBar, Element, Legend, LegendEntry, Line, Rect, Scene, Text, text_box

BUSY_COLOUR = "#1f4e79"
CHARTER_COLOUR = "#fdf1c7"
HEADER_COLOUR = "#e8e8e8"
SLOT_COLOUR = "#d62728"
SHORT_COLOUR = "#f7d9d9"
GRID_COLOUR = "#e4e4e4"
FRAME_COLOUR = "#000000"
LINE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e")
HEATMAP_HOSTS = 120
"""Past this many hosts, the gantt draws one row per cluster (its share of busy hosts) instead of one per host."""
MAX_SLOT_PANELS = 6
WIDTH = 1400
"""Pixels across both figures."""
TOP = 75.0
"""Pixels above the axes: the title, then the legend's row."""
BOTTOM = 65.0
SMALL = 11.0
"""Size in pixels of the tick labels, legends and notes (8 points at 100 dpi)."""
TITLE_SIZE = 16.5
RGB = tuple[float, float, float]


def element_colours(site_clusters: Sequence[tuple[str, str]]) -> dict[str, RGB]:
    """A colour for every site and cluster: a hue per site, a lightness per cluster of that site."""
    sites = sorted({s for s, _ in site_clusters})
    colours: dict[str, RGB] = {}
    for i, site in enumerate(sites):
        hue = i / max(1, len(sites))
        colours[site] = colorsys.hls_to_rgb(hue, 0.45, 0.65)
        clusters = sorted({c for s, c in site_clusters if s == site})
        for j, cluster in enumerate(clusters):
            light = 0.3 + 0.45 * (j / max(1, len(clusters) - 1)) if len(clusters) > 1 else 0.45
            colours[cluster] = colorsys.hls_to_rgb(hue, light, 0.65)
    return colours


def time_ticks(start: float, end: float) -> tuple[tuple[float, str], ...]:
    """Tick positions (unix time) and labels (Paris time) for an axis from ``start`` to ``end``."""
    span = end - start
    step_h = 3 if span <= 2 * 86400 else 12 if span <= 8 * 86400 else 24 * max(1, int(span // 86400 // 14))
    first = datetime.fromtimestamp(start, tz=UTC).astimezone(PARIS).replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    day = first
    while day.timestamp() <= end:
        for hour in range(0, 24, min(step_h, 24)):
            local = day.replace(hour=hour)
            ts = local.timestamp()
            if start <= ts <= end:
                ticks.append((ts, local.strftime("%d %b\n%H:%M")))
        day = (day + timedelta(days=max(1, step_h // 24), hours=3)).replace(hour=0)
    return tuple(ticks)


def _clock(ts: int) -> str:
    """``Tue 24 Mar 11:40`` in Paris time."""
    return datetime.fromtimestamp(ts, tz=UTC).astimezone(PARIS).strftime("%a %d %b %H:%M")


def _slot_label(highlight: tuple[int, int]) -> str:
    start, end = highlight
    return f"chosen slot: {_clock(start)} to {_clock(end)[-5:] if end - start < 86400 else _clock(end)}"


# ------------------------------------------------------------------------------------------------ gantt


def _groups(planning: Planning) -> list[tuple[str, list[tuple[str, list[HostPlanning]]]]]:
    """Hosts by site (sorted) then cluster (natural order)."""
    by_site: dict[str, dict[str, list[HostPlanning]]] = {}
    for host in planning.hosts:
        by_site.setdefault(host.site, {}).setdefault(host.cluster, []).append(host)
    return [(site, [(c, by_site[site][c]) for c in sorted(by_site[site], key=natural_key)])
            for site in sorted(by_site)]


def busy_share(hosts: Sequence[HostPlanning], edges: Sequence[float]) -> list[float]:
    """The share of ``hosts`` busy in each bin between consecutive ``edges`` (0 = all free, 1 = all busy)."""
    events = sorted([(float(t), step) for h in hosts for job in h.busy for t, step in zip(job, (1, -1), strict=True)])
    if not events:
        return [0.0] * (len(edges) - 1)
    at: list[float] = []  # busy host-seconds up to each edge
    level, since, total, i = 0, events[0][0], 0.0, 0
    for edge in edges:
        while i < len(events) and events[i][0] <= edge:
            t, step = events[i]
            total += level * (t - since)
            level, since, i = level + step, t, i + 1
        at.append(total + level * max(0.0, edge - since))
    return [min(1.0, max(0.0, (b - a) / ((e1 - e0) * len(hosts)))) if e1 > e0 else 0.0
            for (a, b), (e0, e1) in zip(itertools.pairwise(at), itertools.pairwise(edges), strict=True)]


def _bin_seconds(span: float) -> int:
    """Heatmap bins: an hour up to 8 days, then wider, about 200 bins at most."""
    return 3600 * max(1, math.ceil(span / 3600 / 200))




def _scale(a: float, b: float, lo: float, hi: float) -> Callable[[float], float]:
    """The linear map taking ``a`` to ``lo`` and ``b`` to ``hi``."""
    ratio = (hi - lo) / (b - a) if b != a else 0.0
    return lambda v: lo + (v - a) * ratio


def nice_ticks(top: float, bins: int = 4) -> tuple[float, ...]:
    """At most ``bins`` + 1 round values from 0 up to ``top`` (steps of 1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return (0.0,)
    power = 10.0 ** math.floor(math.log10(top / bins))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power * bins >= top)
    return tuple(i * step for i in range(int(top // step) + 1))


def _number(v: float) -> str:
    return str(int(v)) if v == int(v) else f"{v:g}"


def _time_axis(x: Callable[[float], float], ticks: Sequence[tuple[float, str]], left: float, right: float,
               y: float) -> list[Element]:
    """Tick marks and two-line date labels below ``y``, and the axis' name."""
    out: list[Element] = []
    for t, label in ticks:
        out.append(Line(((x(t), y), (x(t), y + 4)), FRAME_COLOUR, 0.8))
        out.append(Text(x(t), y + 7, label, SMALL, anchor="middle", valign="top", role="tick"))
    out.append(Text((left + right) / 2, y + 38, "Europe/Paris time", SMALL, anchor="middle", valign="top",
                    role="axis"))
    return out


def _heading(title: str, centre: float, entries: Sequence[LegendEntry]) -> list[Element]:
    """The title, then the legend's row above the axes."""
    return [Text(WIDTH / 2, 40, title, TITLE_SIZE, anchor="middle", valign="bottom", role="title"),
            Legend(centre, TOP - 14, tuple(entries), SMALL)]


def draw_gantt(
    planning: Planning,
    *,
    highlight: tuple[int, int] | None = None,
    charter: Sequence[tuple[float, float]] = (),
    per_host: bool | None = None,
    title: str | None = None,
) -> Scene:
    """A gantt chart of a planning: busy time (jobs) as dark marks on a light background, rows grouped under a
    header per site and labelled per cluster; ``charter`` periods shaded, the ``highlight`` slot framed. One row
    per host up to :data:`HEATMAP_HOSTS` hosts (or as ``per_host`` says), else one row per cluster shaded by its
    share of busy hosts."""
    groups = _groups(planning)
    detailed = len(planning.hosts) <= HEATMAP_HOSTS if per_host is None else per_host
    start, end = float(planning.start), float(planning.end)
    headers: list[tuple[str, float, int]] = []  # site, row, hosts
    labels: list[tuple[float, str]] = []  # (row, 'cluster (hosts)')
    busy: list[tuple[float, float, float]] = []  # (row, start, end) of the per-host rows
    shares: list[tuple[float, list[float]]] = []  # (row, busy share per bin) of the cluster rows
    site_lines: list[float] = []
    cluster_lines: list[float] = []
    step = _bin_seconds(end - start)
    edges = [start + i * step for i in range(math.ceil((end - start) / step))]
    edges.append(end)
    y = 0.0
    for site, clusters in groups:
        site_lines.append(y)
        headers.append((site, y, sum(len(h) for _, h in clusters)))
        y += 1
        for index, (cluster, members) in enumerate(clusters):
            if index:
                cluster_lines.append(y)
            if detailed:
                labels.append((y + len(members) / 2, f"{cluster} ({len(members)})"))
                for host in members:
                    busy += [(y, float(s), float(e)) for s, e in host.busy]
                    y += 1
            else:
                labels.append((y + 0.5, f"{cluster} ({len(members)})"))
                shares.append((y, busy_share(members, edges)))
                y += 1
    rows = max(y, 1.0)
    height = int(max(400.0, 150 + rows * (13 if detailed else 24)))
    left, right = 150.0, WIDTH - (25.0 if detailed else 125.0)
    top, bottom = TOP, height - BOTTOM
    x = _scale(start, end, left, right)
    row = _scale(0.0, rows, top, bottom)
    tall = row(1.0) - top

    def span(a: float, b: float) -> tuple[float, float]:
        a, b = max(a, start), min(b, end)
        return x(a), max(1.0, x(b) - x(a))

    out: list[Element] = []
    for a, b in charter:
        if min(float(b), end) > max(float(a), start):
            at, wide = span(float(a), float(b))
            out.append(Rect(at, top, wide, bottom - top, fill=CHARTER_COLOUR, role="charter"))
    out += [Rect(left, row(r), right - left, tall, fill=HEADER_COLOUR, role="header") for _, r, _ in headers]
    for r, s, e in busy:
        if min(e, end) > max(s, start):
            at, wide = span(s, e)
            out.append(Rect(at, row(r + 0.1), wide, tall * 0.8, fill=BUSY_COLOUR, role="busy"))
    for r, values in shares:  # a run of bins of one share is one rectangle
        i = 0
        while i < len(values):
            j = i
            while j + 1 < len(values) and values[j + 1] == values[i]:
                j += 1
            if values[i] > 0:
                out.append(Rect(x(edges[i]), row(r), x(edges[j + 1]) - x(edges[i]), tall, fill=BUSY_COLOUR,
                                opacity=values[i], role="heat"))
            i = j + 1
    out += [Line(((left, row(r)), (right, row(r))), "#555555", 1.0, role="site-line") for r in site_lines[1:]]
    out += [Line(((left, row(r)), (right, row(r))), "#bbbbbb", 0.5, role="cluster-line") for r in cluster_lines]
    size = 10.0 if detailed else SMALL
    out += [Text(left - 5, row(r), label, size, anchor="end", valign="middle", role="cluster") for r, label in labels]
    entries = [LegendEntry("busy (a job holds the host)" if detailed else "busy hosts (darker: more of the cluster)",
                           BUSY_COLOUR)]
    if charter:
        entries.append(LegendEntry("usage charter period (weekdays 09:00-19:00)", CHARTER_COLOUR))
    if highlight is not None:
        at, wide = span(float(highlight[0]), float(highlight[1]))
        out.append(Rect(at, top, wide, bottom - top, stroke=SLOT_COLOUR, width=2.0, role="slot"))
        entries.append(LegendEntry(_slot_label(highlight), SLOT_COLOUR, "frame"))
    out.append(Rect(left, top, right - left, bottom - top, stroke=FRAME_COLOUR, width=1.0, role="frame"))
    out += [Text(left + 4, row(r + 0.5), f"{site} ({hosts})", SMALL, valign="middle", bold=True,
                 background=HEADER_COLOUR, role="site")
            for site, r, hosts in headers]
    out += _time_axis(x, time_ticks(start, end), left, right, bottom)
    out.append(Text(15, (top + bottom) / 2, "hosts, by site and cluster" if detailed else "clusters (hosts), by site",
                    12.5, anchor="middle", valign="top", rotation=90, role="axis"))
    if not detailed:
        out.append(ColourBar(right + 15, top + (bottom - top) * 0.25, 20, (bottom - top) * 0.5, BUSY_COLOUR,
                             "share of the cluster's hosts busy", ((0.0, "0 %"), (0.5, "50 %"), (1.0, "100 %"))))
    out += _heading(title or f"Jobs from {paris_time(planning.start)} to {paris_time(planning.end)} (Paris time)",
                    (left + right) / 2, entries)
    return Scene(WIDTH, height, tuple(out))


# ------------------------------------------------------------------------------------------------ slots


def _short(xs: Sequence[float], counts: Sequence[int], wanted: int) -> list[tuple[float, float]]:
    """The runs (from, to) of starts where ``counts`` fall short of ``wanted``."""
    runs: list[tuple[float, float]] = []
    for i, count in enumerate(counts):
        if count < wanted:
            a, b = xs[i], xs[i + 1]
            if runs and runs[-1][1] == a:
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
    return runs


def _crosses(box: Rect, points: Sequence[tuple[float, float]]) -> bool:
    """Whether a polyline of horizontal and vertical segments passes through ``box``."""
    right, bottom = box.x + box.w, box.y + box.h
    return any(min(x0, x1) <= right and max(x0, x1) >= box.x and min(y0, y1) <= bottom and max(y0, y1) >= box.y
               for (x0, y0), (x1, y1) in itertools.pairwise(points))


def _note(text: str, at: tuple[float, float], ahead: bool, panel: tuple[float, float, float, float],
          steps: Sequence[tuple[float, float]]) -> list[Element]:
    """A boxed note pointing at ``at``, right of it when ``ahead`` (else left), in the first place near it that
    stays in the ``panel`` (left, top, right, bottom) and covers none of the ``steps``."""
    px, py = at
    side = 20 if ahead else -20

    def boxed(dx: float, dy: float) -> Text:
        return Text(px + dx, py + dy, text, SMALL, SLOT_COLOUR, anchor="start" if dx > 0 else "end",
                    valign="bottom" if dy < 0 else "top", background="#ffffff", border=SLOT_COLOUR, role="note")

    def inside(box: Rect) -> bool:
        return box.x >= panel[0] and box.y >= panel[1] and box.x + box.w <= panel[2] and box.y + box.h <= panel[3]

    near = [(boxed(dx, dy), py + dy) for dy in (-25, 25, -60, 60, -100, 100, -150, 150) for dx in (side, -side)]
    fits = [(note, corner) for note, corner in near if inside(text_box(note))]
    clear = [(note, corner) for note, corner in fits if not _crosses(text_box(note), steps)]
    note, corner = (clear or fits or near)[0]
    return [Line(((px, py), (note.x, corner)), SLOT_COLOUR, 1.0, role="note"), note]


def draw_slots(
    slots: Slots,
    *,
    wanted: Mapping[str, int] | None = None,
    elements: Sequence[str] | None = None,
    chosen: int | None = None,
    title: str | None = None,
) -> Scene:
    """Free hosts over the slot starts, one panel per wanted element (``wanted`` element -> count, or just
    ``elements``; grid5000 when neither is given): the free count as steps, a line at the count wanted, the starts
    where it falls short shaded, and the ``chosen`` start marked and annotated."""
    asked = dict(wanted) if wanted is not None else {e: 0 for e in (elements or ["grid5000"])}
    shown = [e for e in asked if e in slots.elements][:MAX_SLOT_PANELS] or ["grid5000"]
    panels = len(shown)
    height = int(140 + 220 * panels)
    left, right, gap = 100.0, WIDTH - 90.0, 25.0
    top, bottom = TOP, height - BOTTOM
    each = (bottom - top - gap * (panels - 1)) / panels
    boxes = [(top + i * (each + gap), top + i * (each + gap) + each) for i in range(panels)]
    frames = [Rect(left, y0, right - left, y1 - y0, stroke=FRAME_COLOUR, width=1.0, role="frame") for y0, y1 in boxes]
    hours = f"{slots.walltime // 3600}h{slots.walltime % 3600 // 60:02d}"
    if not slots.slots:
        return Scene(WIDTH, height, (*frames, Text(WIDTH / 2, 40, title or "no slots", TITLE_SIZE, anchor="middle",
                                                    valign="bottom", role="title")))
    starts = [float(s.start) for s in slots.slots]
    xs = [*starts, float(max(slots.planning_end, slots.slots[-1].start + 1))]
    span = xs[-1] - xs[0]
    margin = 0.015 * span
    x = _scale(xs[0] - margin, xs[-1] + margin, left, right)
    ticks = time_ticks(xs[0], xs[-1])
    index = {e: i for i, e in enumerate(slots.elements)}
    chosen_slot = next((s for s in slots.slots if s.start == chosen), None)
    out: list[Element] = []
    note_at: tuple[float, float] | None = None
    first_steps: tuple[tuple[float, float], ...] = ()
    for i, ((y0, y1), element) in enumerate(zip(boxes, shown, strict=True)):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        counts = [s.counts[index[element]] for s in slots.slots] if element in index else [0] * len(starts)
        count = asked.get(element, 0)
        y = _scale(0.0, max([*counts, count, 1]) * 1.15 + 1, y1, y0)
        out += [Line(((x(t), y0), (x(t), y1)), GRID_COLOUR, 0.6, role="grid") for t, _ in ticks]
        if count > 0:
            out += [Rect(x(a), y0, x(b) - x(a), y1 - y0, fill=SHORT_COLOUR, role="short")
                    for a, b in _short(xs, counts, count)]
            out.append(Line(((left, y(count)), (right, y(count))), colour, 1.1, dashed=True, role="wanted"))
            out.append(Text(right + 3, y(count), f"wanted {count}", SMALL, colour, valign="middle", role="wanted"))
        steps = tuple(p for k, c in enumerate(counts) for p in ((x(xs[k]), y(c)), (x(xs[k + 1]), y(c))))
        out.append(Line(steps, colour, 1.5, role="steps"))
        first_steps = first_steps or steps
        if chosen is not None:
            out.append(Line(((x(chosen), y0), (x(chosen), y1)), SLOT_COLOUR, 1.5, role="chosen"))
            if i == 0:
                at = chosen_slot.counts[index[element]] if chosen_slot is not None and element in index else 0
                note_at = (x(chosen), y(at))
        for v in nice_ticks(max([*counts, count, 1]) * 1.15 + 1):
            out.append(Line(((left - 4, y(v)), (left, y(v))), FRAME_COLOUR, 0.8))
            out.append(Text(left - 6, y(v), _number(v), SMALL, anchor="end", valign="middle", role="count"))
        out.append(Text(36, (y0 + y1) / 2, f"{element}\nfree hosts", 12.5, anchor="middle", valign="top",
                        rotation=90, role="ylabel"))
    out += frames
    if chosen is not None and note_at is not None:
        free = ", ".join(f"{e} {chosen_slot.counts[index[e]]} free" for e in shown
                         if chosen_slot is not None and e in index)
        text = f"chosen start {_clock(chosen)}" + (f"\n{free}" if free else "")
        ahead = (chosen - xs[0]) / span < 0.7 if span else True
        out += _note(text, note_at, ahead, (left, boxes[0][0], right, boxes[0][1]), first_steps)
    out += _time_axis(x, ticks, left, right, bottom)
    entries = [LegendEntry(f"free hosts for {hours} from each start", "#444444", "line")]
    if any(asked.get(e, 0) > 0 for e in shown):
        entries += [LegendEntry("hosts wanted", "#444444", "dashed"),
                    LegendEntry("fewer free than wanted", SHORT_COLOUR)]
    if chosen is not None:
        entries.append(LegendEntry(f"chosen start {_clock(chosen)}", SLOT_COLOUR, "line"))
    out += _heading(title or f"Free hosts by start time, for a walltime of {hours} (Paris time)",
                    (left + right) / 2, entries)
    return Scene(WIDTH, height, tuple(out))
