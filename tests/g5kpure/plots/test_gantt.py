"""Figures of g5kpure.plots: built with the object API, one row per host, valid colours for any number of sites."""

from __future__ import annotations

import io
import itertools

from matplotlib.figure import Figure

from g5kpure.planning import HostPlanning, Planning, compute_slots
from g5kpure.plots import draw_gantt, draw_slots, element_colours
from g5kpure.plots.gantt import BUSY_COLOUR, time_ticks


def planning() -> Planning:
    hosts = [
        HostPlanning("nova-1.lyon.grid5000.fr", "lyon", "nova", ((3600, 7200),)),
        HostPlanning("nova-2.lyon.grid5000.fr", "lyon", "nova", ()),
        HostPlanning("gros-1.nancy.grid5000.fr", "nancy", "gros", ((0, 86400),)),
    ]
    return Planning(start=0, end=2 * 86400, hosts=hosts)


def test_colours_are_valid_for_many_sites_and_clusters() -> None:
    pairs = [(f"site{i}", f"c{i}x{j}") for i in range(30) for j in range(12)]
    colours = element_colours(pairs)
    assert len(colours) == 30 + 30 * 12
    assert all(0.0 <= v <= 1.0 for rgb in colours.values() for v in rgb)
    assert len({colours[f"c0x{j}"] for j in range(12)}) == 12  # clusters of a site are told apart
    assert len({colours[f"site{i}"] for i in range(30)}) == 30


def test_gantt_rows_and_bars() -> None:
    fig = draw_gantt(planning(), highlight=(7200, 9000))
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = ax.collections
    assert len(bars) == 6  # free and busy bars per host
    busy = [c for c in bars if tuple(c.get_facecolor()[0][:3]) == tuple(int(BUSY_COLOUR[i:i + 2], 16) / 255
                                                                     for i in (1, 3, 5))]
    assert sum(len(c.get_paths()) for c in busy) == 2
    assert [t.get_text() for t in ax.get_yticklabels()] == ["lyon", "nancy"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_slots_figure() -> None:
    slots = compute_slots(planning(), 3600).unwrap()
    fig = draw_slots(slots, elements=["nova"], chosen=slots.slots[1].start)
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0] == "grid5000" and "nova" in labels and labels[-1].startswith("chosen start 1970-01-01")
    assert "maximum (3)" in labels


def test_time_ticks_are_paris_wall_clock() -> None:
    # 2026-03-28 00:00 Paris = 1774652400; DST starts on the 29th: ticks stay on Paris 00/03/06... hours
    ticks = time_ticks(1774652400, 1774652400 + 2 * 86400 - 3600)
    labels = [label for _, label in ticks]
    assert labels[0] == "28 Mar\n00:00" and "29 Mar\n03:00" in labels and "29 Mar\n02:00" not in labels
    assert all(b > a for (a, _), (b, _) in itertools.pairwise(ticks))
