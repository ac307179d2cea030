"""`g5k topo`: the network topology of sites, clusters or hosts, from the embedded Reference API snapshot.

g5k topo [ELEMENTS...] [--out FILE] [--format png|svg] [--compact] [--layout radial|tree|spring] [--queues Q,...]
[--json]: with no element, the whole grid. It prints a summary (or, under --json, every node and edge with their
attributes) and draws the figure into --out (its format from --format, else from its suffix; written atomically:
a temporary file in the same directory, then a rename). --dry-run prints what would be built and written, and
writes nothing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from g5k.cli.main import EXIT_OK, EXIT_USAGE, emit, fail
from g5k.cli.options import FIGURE_FORMATS, hidden_alias, plural
from g5k.reference_data import load_embedded_snapshot
from g5k.results import performed
from returns.io import IOFailure, IOResult, IOSuccess
from returns.result import Failure, Result, Success

from g5kpure.errors import G5kError, InvalidInput
from g5kpure.reference import topology

if TYPE_CHECKING:
    import networkx as nx
    from matplotlib.figure import Figure

LAYOUTS = ("radial", "tree", "spring")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the `topo` subcommand."""
    p = sub.add_parser(
        "topo", parents=[common], help="network topology of sites, clusters or hosts (graph, figure, JSON)",
        description="Build the network topology graph of the given sites, clusters and hosts (default: the whole "
        "grid) from the embedded Reference API snapshot; draw it with --png; --json prints nodes and edges.",
    )
    p.add_argument("elements", nargs="*", metavar="ELEMENT", help="site, cluster or host (default: every site)")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write the figure to this file (.png or .svg; see --format)")
    hidden_alias(p, "--png", dest="out", type=Path)
    p.add_argument("--format", dest="format", choices=FIGURE_FORMATS, default=None,
                   help="the figure's format (default: the suffix of --out, else png)")
    p.add_argument("--compact", action="store_true", help="draw one node per cluster")
    p.add_argument("--layout", choices=LAYOUTS, default="radial", help="figure layout (default %(default)s)")
    p.add_argument("--queues", default=None,
                   help="comma list of OAR queues: a site brings only its clusters in these queues "
                   "(default: every cluster; execo used 'default')")
    p.set_defaults(handler=run)


def figure_path(out: Path, fmt: str | None) -> Result[tuple[Path, str], G5kError]:
    """Where the figure goes and in which format: --format, else the suffix of --out, else png (the suffix is
    added when --out has none; a suffix that contradicts --format is refused)."""
    if not out.name:
        return Failure(InvalidInput("--out", str(out), "a file name, such as topo.png"))
    suffix = out.suffix.lower().lstrip(".")
    if fmt is not None and suffix and suffix != fmt:
        return Failure(InvalidInput("--out", str(out), f"a file name ending in .{fmt} (--format {fmt})"))
    chosen = fmt or (suffix if suffix in FIGURE_FORMATS else "png")
    return Success((out if suffix else out.with_suffix(f".{chosen}"), chosen))


def save_figure(fig: Figure, path: Path, fmt: str = "png") -> IOResult[Path, G5kError]:
    """Write a figure to ``path`` atomically (temporary file in the same directory, then rename)."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            fig.savefig(handle, format=fmt)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes the file private; give it the usual mode
        os.replace(tmp, path)
        tmp = None
        return IOSuccess(path)
    except OSError as exc:
        return IOFailure(InvalidInput(name="--out", value=str(path), expected=f"a writable file path ({exc.strerror})"))
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def summary(graph: nx.MultiGraph, unresolved: tuple[topology.UnresolvedLink, ...] = ()) -> dict[str, Any]:
    """Counts of a graph (nodes and links by kind, sites, clusters, backbone) and the data's unresolved links."""
    sites = set(topology.get_sites(graph))
    return {
        "unresolved": [{"site": u.site, "source": u.source, "target": u.target, "reason": u.reason}
                       for u in unresolved if u.site in sites or (u.site is None and len(sites) > 1)],
        "version": graph.graph.get("version", ""),
        "nodes": dict(sorted(Counter(str(k) for _, k in graph.nodes(data="kind")).items())),
        "links": dict(sorted(Counter(str(a.get("link")) for *_, a in graph.edges(data=True)).items())),
        "sites": list(topology.get_sites(graph)),
        "clusters": len(topology.get_clusters(graph)),
        "backbone": list(topology.get_backbone(graph)),
    }


_KIND_NAMES = {"node": "host", "renater": "backbone node", "hpcswitch": "HPC switch"}


def _human(info: dict[str, Any], png: Path | None) -> str:
    nodes = ", ".join(plural(n, _KIND_NAMES.get(k, k)) for k, n in info["nodes"].items())
    links = ", ".join(plural(n, f"{k} link") for k, n in info["links"].items())
    lines = [f"reference {info['version'][:12]}: {plural(len(info['sites']), 'site')}, "
             f"{plural(info['clusters'], 'cluster')}",
             f"nodes: {nodes or 'none'}", f"links: {links or 'none'}",
             f"backbone: {', '.join(info['backbone']) or 'none'}"]
    for u in info["unresolved"]:
        lines.append(f"not in the graph: {u['source']}{'.' + u['site'] if u['site'] else ''} -> {u['target']} "
                     f"({u['reason']})")
    if png is not None:
        lines.append(f"figure: {png}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Build the graph, print it (summary or JSON), and write the figure when asked."""
    loaded = load_embedded_snapshot()
    if isinstance(loaded, IOFailure):
        return fail(args, performed(loaded).failure())
    snapshot = performed(loaded).unwrap()
    queues = None if args.queues is None else tuple(q for q in args.queues.split(",") if q)
    built = topology.g5k_graph(snapshot, args.elements or None, queues)
    if isinstance(built, Failure):
        return fail(args, built.failure())
    graph = built.unwrap()
    target: tuple[Path, str] | None = None
    if args.out is not None or args.format is not None:
        where = figure_path(args.out or Path(f"topo.{args.format}"), args.format)
        if isinstance(where, Failure):
            fail(args, where.failure())
            return EXIT_USAGE
        target = where.unwrap()
    if args.dry_run:
        what = " ".join(args.elements) or "the whole grid"
        written = None if target is None else str(target[0])
        plan = {"build": what, "queues": queues, "snapshot": snapshot.version, "png": written, "out": written,
                "compact": args.compact, "layout": args.layout}
        emit(args, f"would build the topology of {what} (reference {snapshot.version[:12]})"
             + (f" and write {written}" if written else ""), {"plan": plan})
        return EXIT_OK
    shown = topology.compact_graph(graph) if args.compact else graph
    if target is not None:
        from g5kpure.plots import treemap
        from g5kpure.plots.topology import SPRING_MAX_NODES

        if args.layout == "spring" and len(shown) > SPRING_MAX_NODES:
            fail(args, InvalidInput(name="--layout", value="spring",
                                    expected=f"radial or tree for graphs over {SPRING_MAX_NODES} nodes "
                                    f"(this one has {len(shown)}; --compact has fewer)"))
            return EXIT_USAGE
        saved = save_figure(treemap(graph, compact=args.compact, layout=args.layout), *target)
        if isinstance(saved, IOFailure):
            return fail(args, performed(saved).failure())
    info = summary(graph, topology.unresolved_links(snapshot))
    data = {"summary": info, **topology.graph_to_json(shown)}
    if target is not None:
        data["png" if target[1] == "png" else "svg"] = data["out"] = str(target[0])
    emit(args, _human(info, None if target is None else target[0]), data)
    return EXIT_OK
