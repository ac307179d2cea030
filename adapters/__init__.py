"""g5k: the effects of g5kpure (ssh, HTTP, SQL, files, subprocess), each returning ``returns`` Result values.

For scripts, :func:`value_of` turns what any function returns into its value, or raises the ``G5kError``.
"""

from __future__ import annotations

from g5k.results import value_of

__all__ = ["value_of"]
