"""Property tests of g5kpure.oar.grid: parser totality, rdef encoding round trip, argv through a real /bin/sh."""

from __future__ import annotations

import shlex
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from g5kpure.oar import (
    BRACE_CLOSE,
    BRACE_OPEN,
    OarSubmission,
    oargridsub_argv,
    parse_oargridstat_info,
    parse_oargridstat_jobs,
    parse_oargridstat_list,
    parse_oargridstat_nodes,
    parse_oargridsub_output,
)

aliases = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
# values oargridsub can carry: no ',' (rdef separator), no ':' (field separator), no newline
safe = st.text(st.characters(blacklist_characters=",:\n\r\0", blacklist_categories=["Cs"]), min_size=1,
               max_size=20).filter(lambda s: not s.startswith("-") and "{" not in s and "}" not in s)


@given(st.text())
def test_parsers_are_total(text: str) -> None:
    assert isinstance(parse_oargridsub_output(text), Success | Failure)
    assert isinstance(parse_oargridstat_info(text), Success | Failure)
    assert all(isinstance(i, int) for i in parse_oargridstat_list(text))
    assert all(isinstance(j, int) for j, _ in parse_oargridstat_jobs(text))
    assert list(parse_oargridstat_nodes(text)) == sorted(set(parse_oargridstat_nodes(text)))


def decode(word: str) -> list[tuple[str, dict[str, str]]]:
    """How oargridsub reads its last argument: ',' between clusters, ':' between fields, braces restored."""
    specs = []
    for item in word.split(","):
        alias, _, rest = item.partition(":")
        fields = dict(part.partition("=")[::2] for part in rest.split(":"))
        fields["rdef"] = fields["rdef"].replace(BRACE_OPEN, "{").replace(BRACE_CLOSE, "}")
        specs.append((alias, fields))
    return specs


@given(st.lists(st.tuples(aliases, safe, st.booleans(), st.none() | safe, st.none() | safe), min_size=1, max_size=4))
def test_rdef_encoding_round_trip(items: list[tuple[str, str, bool, str | None, str | None]]) -> None:
    specs = []
    for alias, res, braces, prop, name in items:
        resources = f"{{{res}}}/nodes=1" if braces else res
        specs.append((OarSubmission(resources=resources, sql_properties=prop, name=name), alias))
    argv = oargridsub_argv(specs).unwrap()
    decoded = decode(argv[-1])
    assert [a for a, _ in decoded] == [a for _, a in specs]
    for (spec, _), (_, fields) in zip(specs, decoded, strict=True):
        assert fields["rdef"] == spec.resources[0]
        assert fields.get("prop") == spec.sql_properties
        assert fields.get("name") == spec.name


@settings(max_examples=60)
@given(st.lists(st.tuples(aliases, safe), min_size=1, max_size=3), st.none() | safe, st.none() | safe)
def test_argv_survives_the_remote_shell(items: list[tuple[str, str]], queue: str | None, directory: str | None) -> None:
    argv = oargridsub_argv([(OarSubmission(resources=r), a) for a, r in items], queue=queue,
                           directory=directory).unwrap()
    script = 'for a in "$@"; do printf "%s\\0" "$a"; done'
    out = subprocess.run(["/bin/sh", "-c", f"set -- {shlex.join(argv)}; {script}"], capture_output=True,
                         check=True).stdout
    assert tuple(out.decode().split("\0")[:-1]) == argv
