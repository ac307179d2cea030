"""Figures of g5kpure.plots as scenes: jobs as bars grouped by site and cluster, a heatmap for many hosts, the
slots panels; their content is checked (texts, legend entries, element counts, the SVG), not their pixels."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from g5kpure.planning import HostPlanning, Planning, compute_slots
from g5kpure.plots import Scene, draw_gantt, draw_slots, element_colours, to_svg
from g5kpure.plots.gantt import HEATMAP_HOSTS, busy_share, nice_ticks, time_ticks
from g5kpure.plots.scene import ColourBar, Legend, Line, Rect, texts


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


def rects(scene: Scene, role: str) -> list[Rect]:
    return [e for e in scene.elements if isinstance(e, Rect) and e.role == role]


def legend(scene: Scene) -> list[str]:
    return [entry.label for e in scene.elements if isinstance(e, Legend) for entry in e.entries]


def svg_texts(scene: Scene) -> list[str]:
    """The texts of the scene's SVG, which parses; a text of several lines is one ``text`` element a line."""
    root = ET.fromstring(to_svg(scene).split("\n", 1)[1])
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert (root.get("width"), root.get("height")) == (str(scene.width), str(scene.height))
    return [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]


def lines_of(strings: list[str]) -> list[str]:
    return [line for s in strings for line in s.split("\n")]


def test_colours_are_valid_for_many_sites_and_clusters() -> None:
    pairs = [(f"site{i}", f"c{i}x{j}") for i in range(30) for j in range(12)]
    colours = element_colours(pairs)
    assert len(colours) == 30 + 30 * 12
    assert all(0.0 <= v <= 1.0 for rgb in colours.values() for v in rgb)
    assert len({colours[f"c0x{j}"] for j in range(12)}) == 12  # clusters of a site are told apart
    assert len({colours[f"site{i}"] for i in range(30)}) == 30


def test_gantt_draws_jobs_grouped_by_site_and_cluster() -> None:
    scene = draw_gantt(planning(), highlight=(7200, 9000), charter=((32400, 68400),))
    assert isinstance(scene, Scene) and scene.width == 1400
    assert len(rects(scene, "busy")) == 2  # the two jobs, one rectangle each; free time is the background
    assert len(rects(scene, "header")) == 2 and len(rects(scene, "charter")) == 1
    assert len(rects(scene, "slot")) == 1
    assert texts(scene, "cluster") == ["nova (2)", "gros (1)"]  # lyon, then nancy
    assert texts(scene, "site") == ["lyon (2)", "nancy (1)"]
    assert texts(scene, "title") == ["Jobs from 1970-01-01 01:00 to 1970-01-03 01:00 (Paris time)"]
    assert legend(scene) == ["busy (a job holds the host)", "usage charter period (weekdays 09:00-19:00)",
                             "chosen slot: Thu 01 Jan 03:00 to 03:30"]
    assert "hosts, by site and cluster" in texts(scene)
    assert svg_texts(scene) == lines_of(texts(scene))  # the same texts, one SVG text per line


def test_texts_are_escaped_in_svg() -> None:
    scene = draw_gantt(planning(), title="jobs <a & b> \"quoted\"")
    assert "jobs <a & b> \"quoted\"" in svg_texts(scene)


def test_the_gantt_of_many_hosts_is_one_row_per_cluster_in_a_few_elements() -> None:
    scene = draw_gantt(many_hosts(HEATMAP_HOSTS + 80), highlight=(3600, 10800))
    heat = rects(scene, "heat")
    assert not rects(scene, "busy") and 21 <= len(heat) < 21 * 96  # runs of equal share: not a cell per hour
    assert all(0 < r.opacity <= 1 for r in heat)
    labels = texts(scene, "cluster")
    assert len(labels) == 21 and all(label.startswith("c") and label.endswith(")") for label in labels)
    assert legend(scene)[0] == "busy hosts (darker: more of the cluster)" and legend(scene)[-1].startswith("chosen")
    (bar,) = [e for e in scene.elements if isinstance(e, ColourBar)]
    assert bar.label == "share of the cluster's hosts busy" and [t for _, t in bar.ticks] == ["0 %", "50 %", "100 %"]
    assert {"0 %", "100 %", "share of the cluster's hosts busy"} <= set(svg_texts(scene))
    small = draw_gantt(many_hosts(HEATMAP_HOSTS + 80), per_host=True)
    assert len(rects(small, "busy")) == HEATMAP_HOSTS + 80


def test_busy_share_per_bin() -> None:
    hosts = [HostPlanning("a-1.s.grid5000.fr", "s", "a", ((0, 1800),)),
             HostPlanning("a-2.s.grid5000.fr", "s", "a", ((900, 3600), (5400, 7200)))]
    assert busy_share(hosts, [0, 3600, 7200]) == [0.625, 0.25]
    assert busy_share([], [0, 10]) == [0.0]


def test_busy_share_agrees_with_a_naive_count() -> None:
    hosts = many_hosts(90).hosts
    edges = [i * 1800.0 for i in range(40)]
    naive = [sum(max(0.0, min(e, b) - max(s, a)) for h in hosts for s, e in h.busy) / ((b - a) * len(hosts))
             for a, b in itertools.pairwise(edges)]
    assert all(abs(x - y) < 1e-9 for x, y in zip(busy_share(hosts, edges), naive, strict=True))


def test_slots_figure_shows_the_wanted_elements_their_counts_and_the_chosen_start() -> None:
    slots = compute_slots(planning(), 3600).unwrap()
    scene = draw_slots(slots, wanted={"grid5000": 2, "nova": 2, "atlantis": 1}, chosen=slots.slots[1].start)
    assert texts(scene, "ylabel") == ["grid5000\nfree hosts", "nova\nfree hosts"]  # a panel per planned element
    assert len(rects(scene, "frame")) == 2
    assert legend(scene) == ["free hosts for 1h00 from each start", "hosts wanted", "fewer free than wanted",
                             "chosen start Thu 01 Jan 02:00"]
    assert texts(scene, "wanted") == ["wanted 2", "wanted 2"]
    assert texts(scene, "note") == ["chosen start Thu 01 Jan 02:00\ngrid5000 1 free, nova 1 free"]
    assert texts(scene, "title") == ["Free hosts by start time, for a walltime of 1h00 (Paris time)"]
    (left,) = {r.x for r in rects(scene, "frame")}
    steps = [e for e in scene.elements if getattr(e, "role", "") == "steps"]
    # not on the axis' edge
    assert len(steps) == 2 and all(isinstance(s, Line) and min(x for x, _ in s.points) > left for s in steps)
    assert set(lines_of(texts(scene))) == set(svg_texts(scene))


def test_slots_figure_of_no_slots_says_so() -> None:
    slots = compute_slots(Planning(start=0, end=600, hosts=[]), 3600).unwrap()
    assert texts(draw_slots(slots)) == ["no slots"]


def test_nice_ticks_are_round_and_few() -> None:
    assert nice_ticks(611) == (0, 200, 400, 600)
    assert nice_ticks(24) == (0, 10, 20)
    assert nice_ticks(80.35) == (0, 25, 50, 75)
    assert nice_ticks(0) == (0.0,)


def test_time_ticks_are_paris_wall_clock() -> None:
    # 2026-03-28 00:00 Paris = 1774652400; DST starts on the 29th: ticks stay on Paris 00/03/06... hours
    ticks = time_ticks(1774652400, 1774652400 + 2 * 86400 - 3600)
    labels = [label for _, label in ticks]
    assert labels[0] == "28 Mar\n00:00" and "29 Mar\n03:00" in labels and "29 Mar\n02:00" not in labels
    assert all(b > a for (a, _), (b, _) in itertools.pairwise(ticks))
