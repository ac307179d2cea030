"""The `g5k` command: one module per command group, dispatched by :func:`g5k.cli.main.main`."""
