"""Gantt and slots figures of a planning: data in, ``matplotlib.figure.Figure`` out (object API, no pyplot).

The gantt shows what is taken: jobs are dark bars on a light background, so that the free time the eye looks for
is the empty space; rows are grouped under a header per site and labelled per cluster; the usage charter's periods
are shaded and the chosen slot is framed in red, both named in the legend. Each kind of mark is one collection,
whatever the number of hosts. Past :data:`HEATMAP_HOSTS` hosts a row per host is too thin to read, and the gantt
becomes one row per cluster: the share of its hosts that are busy, hour by hour.

The slots figure draws one panel per wanted element: its free hosts over the slot starts, a line at the count
wanted, the starts where it falls short shaded, and the chosen start marked and annotated. Dates are
Europe/Paris wall-clock time. Saving a figure to a file is the caller's business (``fig.savefig``).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.transforms import blended_transform_factory

from g5kpure.hosts import natural_key
from g5kpure.oar.dates import PARIS
from g5kpure.planning.model import HostPlanning, Planning, paris_time
from g5kpure.planning.slots import Slots

BUSY_COLOUR = "#1f4e79"
CHARTER_COLOUR = "#fdf1c7"
HEADER_COLOUR = "#e8e8e8"
SLOT_COLOUR = "#d62728"
SHORT_COLOUR = "#f7d9d9"
GRID_COLOUR = "#e4e4e4"
LINE_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#ff7f0e")
HEATMAP_HOSTS = 120
"""Past this many hosts, the gantt draws one row per cluster (its share of busy hosts) instead of one per host."""
MAX_SLOT_PANELS = 6
TOP = 0.75
"""Inches above the axes: the legend's row, then the title."""
RGB = tuple[float, float, float]

_BUSY_MAP = LinearSegmentedColormap.from_list("busy", [(0.12, 0.31, 0.47, 0.0), (0.12, 0.31, 0.47, 1.0)])
"""Busy share as opacity of the busy colour: free time stays the background (white, or the charter's yellow)."""


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


def _margins(width: float, height: float, *, left: float, right: float, top: float = TOP,
             bottom: float = 0.65) -> tuple[float, float, float, float]:
    """An axes' rectangle (figure fractions) leaving fixed margins in inches: fixed margins cost no layout pass
    (``tight_layout`` measures every text once more before saving)."""
    return (left / width, bottom / height, 1 - (left + right) / width, 1 - (top + bottom) / height)


def _title(fig: Figure, text: str) -> None:
    """The title above the legend row, a figure text at a fixed place: an axes title is placed by measuring the
    axes' decorations at every drawing."""
    fig.text(0.5, 1 - (TOP - 0.31) / fig.get_figheight(), text, ha="center", va="bottom", fontsize="large")


def _time_axis(ax: Any, ticks: Sequence[tuple[float, str]]) -> None:
    ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks])
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("Europe/Paris time", fontsize=8)


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


def _rectangle(x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def busy_share(hosts: Sequence[HostPlanning], edges: Sequence[float]) -> list[float]:
    """The share of ``hosts`` busy in each bin between consecutive ``edges`` (0 = all free, 1 = all busy)."""
    starts = [s for h in hosts for s, _ in h.busy]
    if not hosts or not starts:
        return [0.0] * (len(edges) - 1)
    times = np.array(starts + [e for h in hosts for _, e in h.busy], dtype=float)
    steps = np.concatenate([np.ones(len(starts)), -np.ones(len(starts))])
    order = np.argsort(times, kind="stable")
    t, level = times[order], np.cumsum(steps[order])
    integral = np.concatenate([[0.0], np.cumsum(level[:-1] * np.diff(t))])  # busy host-seconds up to each t
    at = np.interp(np.asarray(edges, dtype=float), t, integral)
    widths = np.diff(np.asarray(edges, dtype=float))
    return [float(v) for v in np.clip(np.diff(at) / (widths * len(hosts)), 0.0, 1.0)]


def _bin_seconds(span: float) -> int:
    """Heatmap bins: an hour up to 8 days, then wider, about 200 bins at most."""
    return 3600 * max(1, math.ceil(span / 3600 / 200))


def draw_gantt(
    planning: Planning,
    *,
    highlight: tuple[int, int] | None = None,
    charter: Sequence[tuple[float, float]] = (),
    per_host: bool | None = None,
    title: str | None = None,
) -> Figure:
    """A gantt chart of a planning: busy time (jobs) as dark marks on a light background, rows grouped under a
    header per site and labelled per cluster; ``charter`` periods shaded, the ``highlight`` slot framed. One row
    per host up to :data:`HEATMAP_HOSTS` hosts (or as ``per_host`` says), else one row per cluster shaded by its
    share of busy hosts."""
    groups = _groups(planning)
    detailed = len(planning.hosts) <= HEATMAP_HOSTS if per_host is None else per_host
    start, end = float(planning.start), float(planning.end)
    headers: list[tuple[str, float, int]] = []  # site, row, hosts
    labels: list[tuple[float, str]] = []  # (row, 'cluster (hosts)')
    boxes: list[list[tuple[float, float]]] = []  # busy rectangles (per-host rows)
    shares: list[tuple[float, list[float]]] = []  # (row, busy share per bin) of the cluster rows
    site_lines: list[float] = []
    cluster_lines: list[float] = []
    step = _bin_seconds(end - start)
    edges = [start + i * step for i in range(math.ceil((end - start) / step))]
    edges.append(end)
    y = 0.0
    for site, clusters in groups:
        site_lines.append(y)
        hosts = sum(len(h) for _, h in clusters)
        headers.append((site, y, hosts))
        y += 1
        for index, (cluster, members) in enumerate(clusters):
            if index:
                cluster_lines.append(y)
            if detailed:
                labels.append((y + len(members) / 2, f"{cluster} ({len(members)})"))
                for host in members:
                    boxes += [_rectangle(float(s), float(e), y + 0.1, y + 0.9) for s, e in host.busy]
                    y += 1
            else:
                labels.append((y + 0.5, f"{cluster} ({len(members)})"))
                shares.append((y, busy_share(members, edges)))
                y += 1
    rows = max(y, 1.0)
    height = max(4.0, 1.5 + rows * (0.13 if detailed else 0.24))
    fig = Figure(figsize=(14, height), dpi=100)
    ax = fig.add_axes(_margins(14, height, left=1.5, right=0.25 if detailed else 1.25))
    ax.set_facecolor("white")
    handles: list[Any] = []
    if charter:
        ax.add_collection(PolyCollection([_rectangle(float(a), float(b), 0, rows) for a, b in charter],
                                         facecolors=CHARTER_COLOUR, edgecolors="none", zorder=0))
        handles.append(Patch(facecolor=CHARTER_COLOUR, label="usage charter period (weekdays 09:00-19:00)"))
    ax.add_collection(PolyCollection([_rectangle(start, end, r, r + 1) for _, r, _ in headers],
                                     facecolors=HEADER_COLOUR, edgecolors="none", zorder=1))
    mesh = None
    if detailed:
        ax.add_collection(PolyCollection(boxes, facecolors=BUSY_COLOUR, edgecolors="none", zorder=2))
        handles.insert(0, Patch(facecolor=BUSY_COLOUR, label="busy (a job holds the host)"))
    elif shares:
        grid = np.full((int(rows), len(edges) - 1), np.nan)
        for row, values in shares:
            grid[int(row)] = values
        # rasterized: in SVG one embedded picture, where the mesh would be a path per cell
        mesh = ax.pcolormesh(edges, np.arange(int(rows) + 1), np.ma.masked_invalid(grid), cmap=_BUSY_MAP,
                              vmin=0.0, vmax=1.0, shading="flat", zorder=2, rasterized=True)
    ax.add_collection(LineCollection([[(start, r), (end, r)] for r in site_lines[1:]], colors="#555555",
                                     linewidths=0.9, zorder=3))
    ax.add_collection(LineCollection([[(start, r), (end, r)] for r in cluster_lines], colors="#bbbbbb",
                                     linewidths=0.4, zorder=3))
    left = blended_transform_factory(ax.transAxes, ax.transData)
    size = 7 if detailed else 8
    for row, label in labels:  # plain texts, not y ticks: a tick is four artists and moves the axis label
        ax.text(-0.004, row, label, transform=left, va="center", ha="right", fontsize=size, gid="cluster")
    for site, row, hosts in headers:  # the same grammar as the clusters': name (hosts)
        ax.text(0.003, row + 0.5, f"{site} ({hosts})", transform=left, va="center", ha="left", fontsize=8,
                fontweight="bold", zorder=6, bbox={"facecolor": HEADER_COLOUR, "edgecolor": "none", "pad": 0.5})
    if highlight is not None:
        a, b = float(highlight[0]), float(highlight[1])
        ax.add_patch(Rectangle((a, 0), b - a, rows, facecolor="none", edgecolor=SLOT_COLOUR, linewidth=1.6, zorder=5))
        handles.append(Patch(facecolor="none", edgecolor=SLOT_COLOUR, linewidth=1.6, label=_slot_label(highlight)))
    ax.set_xlim(start, end)
    ax.set_ylim(rows, 0)
    ax.set_yticks([])
    fig.text(0.15 / 14, 0.5, "clusters (hosts), by site" if not detailed else "hosts, by site and cluster",
             rotation=90, va="center", ha="left", fontsize=9)
    _time_axis(ax, time_ticks(start, end))
    if mesh is not None:
        x0, y0, w, h = ax.get_position().bounds
        bar = fig.colorbar(mesh, cax=fig.add_axes((x0 + w + 0.15 / 14, y0 + h * 0.25, 0.2 / 14, h * 0.5)))
        bar.set_label("share of the cluster's hosts busy", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        bar.set_ticks([0.0, 0.5, 1.0], labels=["0 %", "50 %", "100 %"])
        handles.insert(0, Patch(facecolor=BUSY_COLOUR, label="busy hosts (darker: more of the cluster)"))
    ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles), fontsize=8,
              frameon=False)
    _title(fig, title or f"Jobs from {paris_time(planning.start)} to {paris_time(planning.end)} (Paris time)")
    return fig


# ------------------------------------------------------------------------------------------------ slots


def _short(xs: Sequence[float], counts: Sequence[int], wanted: int) -> list[list[tuple[float, float]]]:
    """Rectangles (x in data units, y from 0 to 1) over the starts where ``counts`` fall short of ``wanted``,
    merged into runs."""
    runs: list[tuple[float, float]] = []
    for i, count in enumerate(counts):
        if count < wanted:
            a, b = xs[i], xs[i + 1]
            if runs and runs[-1][1] == a:
                runs[-1] = (runs[-1][0], b)
            else:
                runs.append((a, b))
    return [_rectangle(a, b, 0.0, 1.0) for a, b in runs]


def draw_slots(
    slots: Slots,
    *,
    wanted: Mapping[str, int] | None = None,
    elements: Sequence[str] | None = None,
    chosen: int | None = None,
    title: str | None = None,
) -> Figure:
    """Free hosts over the slot starts, one panel per wanted element (``wanted`` element -> count, or just
    ``elements``; grid5000 when neither is given): the free count as steps, a line at the count wanted, the starts
    where it falls short shaded, and the ``chosen`` start marked and annotated."""
    asked = dict(wanted) if wanted is not None else {e: 0 for e in (elements or ["grid5000"])}
    shown = [e for e in asked if e in slots.elements][:MAX_SLOT_PANELS] or ["grid5000"]
    panels = len(shown)
    height = 1.4 + 2.2 * panels
    fig = Figure(figsize=(14, height), dpi=100)
    x0, y0, w, h = _margins(14, height, left=1.0, right=0.9)
    gap = 0.25 / height
    each = (h - gap * (panels - 1)) / panels
    axes = [fig.add_axes((x0, y0 + (panels - 1) * (each + gap), w, each))]
    axes += [fig.add_axes((x0, y0 + (panels - 1 - i) * (each + gap), w, each)) for i in range(1, panels)]
    hours = f"{slots.walltime // 3600}h{slots.walltime % 3600 // 60:02d}"
    if not slots.slots:
        _title(fig, title or "no slots")
        return fig
    starts = [float(s.start) for s in slots.slots]
    xs = [*starts, float(max(slots.planning_end, slots.slots[-1].start + 1))]
    span = xs[-1] - xs[0]
    index = {e: i for i, e in enumerate(slots.elements)}
    chosen_slot = next((s for s in slots.slots if s.start == chosen), None)
    for i, (ax, element) in enumerate(zip(axes, shown, strict=True)):
        colour = LINE_COLOURS[i % len(LINE_COLOURS)]
        counts = [s.counts[index[element]] for s in slots.slots] if element in index else [0] * len(starts)
        count = asked.get(element, 0)
        top = max([*counts, count, 1])
        if count > 0:
            short = PolyCollection(_short(xs, counts, count), facecolors=SHORT_COLOUR, edgecolors="none", zorder=0,
                                   transform=blended_transform_factory(ax.transData, ax.transAxes))
            ax.add_collection(short, autolim=False)
            ax.axhline(count, color=colour, linestyle="--", linewidth=1.1, zorder=2)
            ax.text(1.002, count, f"wanted {count}", transform=blended_transform_factory(ax.transAxes, ax.transData),
                    va="center", ha="left", fontsize=8, color=colour)
        ax.stairs(counts, xs, color=colour, linewidth=1.4, zorder=3, baseline=None)
        ax.set_ylim(0, top * 1.15 + 1)
        ax.set_ylabel(f"{element}\nfree hosts", fontsize=9)
        ax.tick_params(axis="y", labelsize=8)
        ax.locator_params(axis="y", nbins=4)  # a tick is four artists: a few suffice to read a count
        if chosen is not None:
            ax.axvline(float(chosen), color=SLOT_COLOUR, linewidth=1.4, zorder=4)
    if chosen is not None:
        free = ", ".join(f"{e} {chosen_slot.counts[index[e]]} free" for e in shown
                         if chosen_slot is not None and e in index)
        text = f"chosen start {_clock(chosen)}" + (f"\n{free}" if free else "")
        before = (chosen - xs[0]) / span if span else 0.0
        ax0 = axes[0]
        at = chosen_slot.counts[index[shown[0]]] if chosen_slot is not None and shown[0] in index else 0
        ax0.annotate(text, xy=(float(chosen), at), xytext=(14 if before < 0.7 else -14, 18),
                     textcoords="offset points", va="bottom",
                     ha="left" if before < 0.7 else "right", fontsize=8, color=SLOT_COLOUR,
                     bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": SLOT_COLOUR},
                     arrowprops={"arrowstyle": "-", "color": SLOT_COLOUR}, zorder=6)
    margin = 0.015 * span
    ticks = time_ticks(xs[0], xs[-1])
    for ax in axes:  # one time axis, at the bottom; a light line at each of its ticks across every panel
        ax.set_xlim(xs[0] - margin, xs[-1] + margin)
        ax.add_collection(LineCollection([[(t, 0.0), (t, 1.0)] for t, _ in ticks], colors=GRID_COLOUR,
                                         linewidths=0.6, zorder=1,
                                         transform=blended_transform_factory(ax.transData, ax.transAxes)),
                          autolim=False)
        if ax is not axes[-1]:
            ax.set_xticks([])
    _time_axis(axes[-1], ticks)
    handles: list[Any] = [Line2D([], [], color="#444444", linewidth=1.4,
                                 label=f"free hosts for {hours} from each start")]
    if any(asked.get(e, 0) > 0 for e in shown):
        handles += [Line2D([], [], color="#444444", linestyle="--", label="hosts wanted"),
                    Patch(facecolor=SHORT_COLOUR, label="fewer free than wanted")]
    if chosen is not None:
        handles.append(Line2D([], [], color=SLOT_COLOUR, linewidth=1.4, label=f"chosen start {_clock(chosen)}"))
    axes[0].legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=len(handles), fontsize=8,
                   frameon=False)
    _title(fig, title or f"Free hosts by start time, for a walltime of {hours} (Paris time)")
    return fig
