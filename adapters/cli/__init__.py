"""The `g5k` command: one module per command group, dispatched by :func:`main`."""

from __future__ import annotations

from g5k.cli.main import main

__all__ = ["main"]
