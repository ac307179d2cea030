"""Figures of g5kpure: the planning's as pure scenes (``Scene`` values, drawn by ``to_svg`` or the adapter
``g5k.raster``), the topology's as a ``matplotlib.figure.Figure``.

``treemap`` (the topology, which needs networkx and matplotlib) is imported on first use, so that drawing a
planning loads neither.
"""

from typing import TYPE_CHECKING, Any

from g5kpure.plots.gantt import draw_gantt, draw_slots, element_colours
from g5kpure.plots.scene import Scene, to_svg

if TYPE_CHECKING:
    from g5kpure.plots.topology import treemap

__all__ = ["Scene", "draw_gantt", "draw_slots", "element_colours", "to_svg", "treemap"]


def __getattr__(name: str) -> Any:
    if name == "treemap":
        from g5kpure.plots.topology import treemap

        return treemap
    raise AttributeError(f"module 'g5kpure.plots' has no attribute {name!r}")
