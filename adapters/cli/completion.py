"""`g5k completion bash|zsh`: print the shell completion script of the whole `g5k` command (made by shtab from
the argument parser, so that it always lists the commands and options of this version; hidden aliases stay out).

    g5k completion bash > ~/.local/share/bash-completion/completions/g5k
    g5k completion zsh > "${fpath[1]}/_g5k"
"""

from __future__ import annotations

import argparse
from typing import Any

from g5k.cli.main import EXIT_OK, build_parser
from g5k.cli.options import plain

SHELLS = ("bash", "zsh")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `completion` subcommand."""
    p = sub.add_parser("completion", help="print the shell completion script (bash or zsh)",
                       description=plain(__doc__ or ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shell", choices=SHELLS, help="the shell the script is for")
    p.set_defaults(handler=run)


def script(shell: str) -> str:
    """The completion script of `g5k` for ``shell``."""
    import shtab

    parser = build_parser()  # every command module, for their options
    return str(shtab.complete(parser, shell=shell))


def run(args: argparse.Namespace) -> int:
    """Print the completion script."""
    print(script(args.shell))
    return EXIT_OK
