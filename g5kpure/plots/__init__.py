"""Figures of g5kpure: data in, ``matplotlib.figure.Figure`` out (object API, never pyplot; saving is the caller's)."""

from g5kpure.plots.gantt import draw_gantt, draw_slots, element_colours
from g5kpure.plots.topology import treemap

__all__ = ["draw_gantt", "draw_slots", "element_colours", "treemap"]
