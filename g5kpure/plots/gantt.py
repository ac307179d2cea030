"""Gantt and slots figures of a planning: data in, ``matplotlib.figure.Figure`` out (object API, no pyplot).

Colours are valid for any number of sites and clusters: one hue per site spread around the colour wheel, one
lightness per cluster of a site inside a fixed band (execo's palette ran out after 10 sites and produced
invalid RGB values for the fifth cluster of a site). Dates are shown in Europe/Paris time. Saving a figure to a
file is the caller's business (``fig.savefig``).
"""

from __future__ import annotations

import colorsys
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from g5kpure.oar.dates import PARIS
from g5kpure.planning.model import Planning, paris_time
from g5kpure.planning.slots import Slots

BUSY_COLOUR = "#666666"
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


def _date(ts: float) -> float:
    return float(ts)


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


def _format_time_axis(ax: Any, start: float, end: float) -> None:
    ticks = time_ticks(start, end)
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])


def draw_gantt(
    planning: Planning,
    *,
    colours: Mapping[str, RGB] | None = None,
    highlight: tuple[int, int] | None = None,
    title: str | None = None,
) -> Figure:
    """A gantt chart: one row per host grouped by site and cluster, free time in the cluster's colour, busy time
    in grey; ``highlight`` marks a slot."""
    palette = dict(colours) if colours is not None else element_colours(planning.clusters)
    rows = len(planning.hosts)
    fig = Figure(figsize=(14, max(4.0, 1.5 + rows * 0.03)), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    start, end = _date(planning.start), _date(planning.end)
    ticks: list[tuple[float, str]] = []
    previous_site = ""
    for y, host in enumerate(planning.hosts):
        free = planning.free(host)
        ax.broken_barh([(_date(s), _date(e) - _date(s)) for s, e in free], (y, 0.9),
                       facecolors=palette.get(host.cluster, (0.3, 0.6, 0.3)), linewidth=0)
        ax.broken_barh([(_date(s), _date(e) - _date(s)) for s, e in host.busy], (y, 0.9),
                       facecolors=BUSY_COLOUR, linewidth=0)
        if host.site != previous_site:
            ticks.append((y, host.site))
            if y:
                ax.axhline(y - 0.05, color="black", linewidth=0.6)
            previous_site = host.site
    if highlight is not None:
        ax.axvspan(_date(highlight[0]), _date(highlight[1]), color="red", alpha=0.25, linewidth=0)
    ax.set_xlim(start, end)
    ax.set_ylim(rows, 0)
    ax.set_yticks([t for t, _ in ticks], [name for _, name in ticks], fontsize=8, va="top")
    ax.set_ylabel("hosts (by site and cluster)")
    _format_time_axis(ax, planning.start, planning.end)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(title or f"Planning from {paris_time(planning.start)} to {paris_time(planning.end)} (Paris time)")
    handles = [Patch(color=BUSY_COLOUR, label="busy"), Patch(color=(0.5, 0.5, 0.8), label="free (colour = cluster)")]
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def draw_slots(
    slots: Slots,
    *,
    elements: Sequence[str] | None = None,
    colours: Mapping[str, RGB] | None = None,
    chosen: int | None = None,
    title: str | None = None,
) -> Figure:
    """Free hosts over time: the per-cluster counts stacked (one step per slot start), the grid5000 maximum as a
    line, the chosen slot's start marked; ``elements`` adds one line per listed element."""
    site_clusters = tuple((s, c) for c, s in slots.cluster_sites)
    palette = dict(colours) if colours is not None else element_colours(site_clusters)
    fig = Figure(figsize=(14, 6), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    if not slots.slots:
        ax.set_title("no slots")
        return fig
    starts = [s.start for s in slots.slots] + [slots.planning_end]
    xs: list[float] = []
    for a, b in itertools.pairwise(starts):
        xs += [_date(a), _date(b)]
    clusters = [c for _, c in sorted(site_clusters)]
    index = {e: i for i, e in enumerate(slots.elements)}
    layers = [[float(s.counts[index[c]]) for s in slots.slots for _ in (0, 1)] for c in clusters]
    ax.stackplot(xs, layers, colors=[palette[c] for c in clusters], linewidth=0)
    total = [float(s.counts[0]) for s in slots.slots for _ in (0, 1)]
    ax.plot(xs, total, color="black", linewidth=0.8, label="grid5000")
    ax.axhline(max(total), color="black", linestyle=":", linewidth=0.8, label=f"maximum ({int(max(total))})")
    for element in elements or ():
        if element in index and element != "grid5000":
            ax.plot(xs, [float(s.counts[index[element]]) for s in slots.slots for _ in (0, 1)], linewidth=1.2,
                    linestyle="--", label=element)
    if chosen is not None:
        ax.axvline(_date(chosen), color="red", linewidth=1.2, label=f"chosen start {paris_time(chosen)}")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(0, max(total) * 1.08 + 1)
    ax.set_ylabel(f"hosts free for {slots.walltime // 3600}h{slots.walltime % 3600 // 60:02d}")
    _format_time_axis(ax, slots.slots[0].start, slots.planning_end)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title(title or "Free hosts per cluster (stacked) by slot start (Paris time)")
    fig.tight_layout()
    return fig
