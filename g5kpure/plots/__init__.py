"""Figures of g5kpure: data in, ``matplotlib.figure.Figure`` out (object API, never pyplot; saving is the caller's).

``treemap`` (the topology, which needs networkx) is imported on first use, so that drawing a planning does not
load the graph library.
"""

from typing import TYPE_CHECKING, Any

from g5kpure.plots.gantt import draw_gantt, draw_slots, element_colours

if TYPE_CHECKING:
    from g5kpure.plots.topology import treemap

__all__ = ["draw_gantt", "draw_slots", "element_colours", "treemap"]


def __getattr__(name: str) -> Any:
    if name == "treemap":
        from g5kpure.plots.topology import treemap

        return treemap
    raise AttributeError(f"module 'g5kpure.plots' has no attribute {name!r}")
