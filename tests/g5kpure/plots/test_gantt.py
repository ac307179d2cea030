"""Figures of g5kpure.plots: jobs as bars grouped by site and cluster, a heatmap for many hosts, the slots panels;
their content is checked (labels, legend entries, collections), not their pixels."""

from __future__ import annotations

import io
import itertools

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection, QuadMesh
from matplotlib.figure import Figure

from g5kpure.planning import HostPlanning, Planning, compute_slots
from g5kpure.plots import draw_gantt, draw_slots, element_colours
from g5kpure.plots.gantt import HEATMAP_HOSTS, busy_share, time_ticks


def planning() -> Planning:
    hosts = [
        HostPlanning("nova-1.lyon.grid5000.fr", "lyon", "nova", ((3600, 7200),)),
        HostPlanning("nova-2.lyon.grid5000.fr", "lyon", "nova", ()),
        HostPlanning("gros-1.nancy.grid5000.fr", "nancy", "gros", ((0, 86400),)),
    ]
    return Planning(start=0, end=2 * 86400, hosts=hosts)


def many_hosts(count: int) -> Planning:
    hosts = [HostPlanning(f"c{i % 7}-{i}.s{i % 3}.grid5000.fr", f"s{i % 3}", f"c{i % 7}",
                          ((i * 600, i * 600 + 7200),)) for i in range(count)]
    return Planning(start=0, end=4 * 86400, hosts=hosts)


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in [*ax.texts, *ax.get_yticklabels()]]


def cluster_labels(ax: Axes) -> list[str]:
    """The row labels of the clusters, plain texts left of the axes."""
    return [t.get_text() for t in ax.texts if t.get_gid() == "cluster"]


def legend(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def test_colours_are_valid_for_many_sites_and_clusters() -> None:
    pairs = [(f"site{i}", f"c{i}x{j}") for i in range(30) for j in range(12)]
    colours = element_colours(pairs)
    assert len(colours) == 30 + 30 * 12
    assert all(0.0 <= v <= 1.0 for rgb in colours.values() for v in rgb)
    assert len({colours[f"c0x{j}"] for j in range(12)}) == 12  # clusters of a site are told apart
    assert len({colours[f"site{i}"] for i in range(30)}) == 30


def test_gantt_draws_jobs_grouped_by_site_and_cluster() -> None:
    fig = draw_gantt(planning(), highlight=(7200, 9000), charter=((32400, 68400),))
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    polys = [c for c in ax.collections if isinstance(c, PolyCollection)]
    charter, headers, busy = polys
    assert len(busy.get_paths()) == 2  # the two jobs, one rectangle each; free time is the background
    assert len(headers.get_paths()) == 2 and len(charter.get_paths()) == 1
    assert sum(isinstance(c, LineCollection) for c in ax.collections) == 2  # site and cluster separators
    assert cluster_labels(ax) == ["nova (2)", "gros (1)"]  # lyon, then nancy
    assert {"lyon (2)", "nancy (1)"} <= set(texts(fig))
    assert legend(fig) == ["busy (a job holds the host)", "usage charter period (weekdays 09:00-19:00)",
                           "chosen slot: Thu 01 Jan 03:00 to 03:30"]
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_the_gantt_of_many_hosts_is_one_row_per_cluster_in_a_few_collections() -> None:
    fig = draw_gantt(many_hosts(HEATMAP_HOSTS + 80), highlight=(3600, 10800))
    ax = fig.axes[0]
    assert len(ax.collections) <= 5  # headers, one mesh, two separator sets: not one artist per host
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert mesh.get_array().count() == 7 * 3 * 96  # (cluster, site) rows of hourly cells, headers masked
    assert mesh.get_rasterized()  # one picture in SVG, not a path per cell
    labels = cluster_labels(ax)
    assert len(labels) == 21 and all(label.startswith("c") and label.endswith(")") for label in labels)
    assert legend(fig)[0] == "busy hosts (darker: more of the cluster)" and legend(fig)[-1].startswith("chosen slot")
    assert len(fig.axes) == 2  # the colour bar
    small = draw_gantt(many_hosts(HEATMAP_HOSTS + 80), per_host=True)
    assert sum(len(c.get_paths()) for c in small.axes[0].collections if isinstance(c, PolyCollection)) > 200


def test_busy_share_per_bin() -> None:
    hosts = [HostPlanning("a-1.s.grid5000.fr", "s", "a", ((0, 1800),)),
             HostPlanning("a-2.s.grid5000.fr", "s", "a", ((900, 3600), (5400, 7200)))]
    assert busy_share(hosts, [0, 3600, 7200]) == [0.625, 0.25]
    assert busy_share([], [0, 10]) == [0.0]


def test_slots_figure_shows_the_wanted_elements_their_counts_and_the_chosen_start() -> None:
    slots = compute_slots(planning(), 3600).unwrap()
    fig = draw_slots(slots, wanted={"grid5000": 2, "nova": 2, "atlantis": 1}, chosen=slots.slots[1].start)
    assert len(fig.axes) == 2  # one panel per wanted element of the planning
    assert [ax.get_ylabel() for ax in fig.axes] == ["grid5000\nfree hosts", "nova\nfree hosts"]
    assert legend(fig) == ["free hosts for 1h00 from each start", "hosts wanted", "fewer free than wanted",
                           "chosen start Thu 01 Jan 02:00"]
    assert {"wanted 2"} <= set(texts(fig))
    notes = [a.get_text() for a in fig.axes[0].texts if a.get_text().startswith("chosen")]
    assert notes == ["chosen start Thu 01 Jan 02:00\ngrid5000 1 free, nova 1 free"]
    left, _ = fig.axes[0].get_xlim()
    assert left < slots.slots[0].start  # a chosen first start is not on the axis' edge


def test_time_ticks_are_paris_wall_clock() -> None:
    # 2026-03-28 00:00 Paris = 1774652400; DST starts on the 29th: ticks stay on Paris 00/03/06... hours
    ticks = time_ticks(1774652400, 1774652400 + 2 * 86400 - 3600)
    labels = [label for _, label in ticks]
    assert labels[0] == "28 Mar\n00:00" and "29 Mar\n03:00" in labels and "29 Mar\n02:00" not in labels
    assert all(b > a for (a, _), (b, _) in itertools.pairwise(ticks))
