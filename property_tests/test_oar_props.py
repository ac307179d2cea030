"""Properties of the OAR argv builders and parsers.

* the shell-injection guarantee: ``shlex.join(oarsub_argv(sub))`` read by a real ``/bin/sh`` gives back exactly
  the argv, whatever quotes, ``$()``, backticks, newlines or unicode the values hold;
* ``OarSubmission -> argv -> parse_oarsub_argv`` is the identity (``-l``, ``-t``, ``-p`` and every other field);
* every parser is total on arbitrary text and on mutated real captures (truncation, CRLF, dropped lines,
  reordered JSON keys), and CRLF or a new JSON key order never changes a successful parse.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st
from returns.result import Failure, Result, Success

from g5kpure.oar import (
    DEFAULT_COMMAND,
    OarSubmission,
    make_submission,
    oarsub_argv,
    parse_g5k_subnet_params,
    parse_g5k_subnets,
    parse_job_nodes,
    parse_kavlan_ids,
    parse_oardel_output,
    parse_oarstat_events,
    parse_oarstat_job_json,
    parse_oarstat_job_text,
    parse_oarstat_jobs_json,
    parse_oarstat_list,
    parse_oarstat_state,
    parse_oarsub_argv,
    parse_oarsub_output,
)

FIXTURES = Path(__file__).parent.parent / "tests" / "fixtures" / "oar"
NAMES = sorted(p.stem for p in FIXTURES.glob("*.rc"))
JSON_NAMES = [n for n in NAMES if (FIXTURES / f"{n}.stdout").read_text().lstrip().startswith("{")]

PARSERS: list[Callable[[int | None, str, str], Result[Any, Any]]] = [
    parse_oarsub_output,
    parse_oardel_output,
    parse_oarstat_job_text,
    parse_oarstat_job_json,
    parse_oarstat_jobs_json,
    parse_oarstat_list,
    parse_oarstat_state,
    parse_oarstat_events,
    parse_job_nodes,
    parse_g5k_subnets,
    parse_g5k_subnet_params,
    parse_kavlan_ids,
]


def load(name: str) -> tuple[int, str, str]:
    rc = int((FIXTURES / f"{name}.rc").read_text().strip())
    return rc, (FIXTURES / f"{name}.stdout").read_text(), (FIXTURES / f"{name}.stderr").read_text()


# ------------------------------------------------------------------------------------------- hostile values

HOSTILE = st.sampled_from(
    [
        "'",
        '"',
        "$(id)",
        "`id`",
        "\\",
        "\n",
        "\r\n",
        "\t",
        " ",
        ";",
        "|",
        "&",
        "*",
        "~",
        "#",
        "$HOME",
        "!",
        "é",
        "💥",
        "'\"'",
    ]
)
hostile_text = st.lists(
    st.one_of(HOSTILE, st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=6)), max_size=6
).map("".join)


def not_option(s: str) -> bool:
    return not s.startswith("-")


@st.composite
def submissions(draw: st.DrawFn, with_extra: bool = True) -> OarSubmission:
    """Valid submissions made of hostile text (no NUL, nothing that oarsub would read as an option)."""
    word = hostile_text.filter(not_option)
    nonempty = word.filter(lambda s: s != "")
    made = make_submission(
        resources=draw(st.lists(nonempty, max_size=3)),
        walltime=draw(st.one_of(st.none(), st.integers(1, 10**7))),
        job_type=draw(st.lists(nonempty, max_size=3)),
        sql_properties=draw(st.one_of(st.none(), word)),
        queue=draw(st.one_of(st.none(), nonempty)),
        reservation_date=draw(st.one_of(st.none(), st.integers(0, 4102444800))),
        directory=draw(st.one_of(st.none(), word)),
        project=draw(st.one_of(st.none(), word)),
        name=draw(st.one_of(st.none(), word)),
        additional_options=draw(st.lists(hostile_text, max_size=3)) if with_extra else None,
        command=draw(st.one_of(st.none(), word)),
        tz=UTC,
    )
    assert isinstance(made, Success), made
    submission: OarSubmission = made.unwrap()
    return submission


def read_back_by_sh(line: str) -> list[str]:
    """The words a real /bin/sh makes of ``printf '%s\\0' LINE``."""
    proc = subprocess.run(["/bin/sh", "-c", "printf '%s\\0' " + line], capture_output=True, check=True, timeout=30)
    words = proc.stdout.split(b"\0")
    assert words[-1] == b""
    return [w.decode("utf-8", "surrogateescape") for w in words[:-1]]


@given(submissions(), st.one_of(st.none(), hostile_text.filter(not_option)))
def test_shell_join_read_back_by_real_sh_is_the_argv(sub: OarSubmission, key: str | None) -> None:
    argv = oarsub_argv(sub, job_key_file=key, tz=UTC)
    assert read_back_by_sh(shlex.join(argv)) == list(argv)


@given(st.lists(hostile_text, min_size=1, max_size=8))
def test_any_argv_survives_the_shell(words: list[str]) -> None:
    assert read_back_by_sh(shlex.join(words)) == words


# ---------------------------------------------------------------------------------------- argv identity

OAR_FLAGS = {"-l", "-t", "-p", "-q", "-r", "-d", "--project", "-n", "-i", "-k"}
resource_word = st.text(st.characters(codec="utf-8", exclude_characters="\0+{}'\","), min_size=1, max_size=12)
prop_value = st.text(
    st.characters(codec="utf-8", exclude_characters="\0'"), max_size=8
)  # may hold + { } , inside the quotes
braced = st.builds(
    lambda k, v, r: "{" + f"{k}='{v}'" + "}/" + r,
    st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
    prop_value,
    resource_word,
)


@given(
    st.lists(st.one_of(resource_word, braced).filter(lambda r: not_option(r) and "walltime=" not in r), max_size=3),
    st.one_of(st.none(), st.integers(1, 10**7)),
    st.lists(
        hostile_text.filter(lambda t: t != "" and not_option(t) and t != "origin=g5kpure"), max_size=3, unique=True
    ),
    st.one_of(st.none(), hostile_text.filter(not_option)),
    submissions(with_extra=False),
    st.lists(st.sampled_from(["-O", "/tmp/o.%jobid%", "--hold", "-E", "x y", "--notify", "mail:a@b"]), max_size=4),
    st.one_of(st.none(), st.just("/home/u/.ssh/key")),
)
def test_submission_argv_parse_back_is_identity(
    resources: list[str],
    walltime: int | None,
    types: list[str],
    props: str | None,
    base: OarSubmission,
    extra: list[str],
    key: str | None,
) -> None:
    assume(base.command != DEFAULT_COMMAND)
    sub = make_submission(
        resources=resources,
        walltime=walltime,
        job_type=types,
        sql_properties=props,
        queue=base.queue,
        reservation_date=base.reservation_date,
        directory=base.directory,
        project=base.project,
        name=base.name,
        additional_options=extra,
        command=base.command,
        tz=UTC,
    ).unwrap()
    argv = oarsub_argv(sub, job_key_file=key, tz=UTC)
    assert parse_oarsub_argv(argv, tz=UTC) == Success((sub, key))
    # the -l / -t / -p words themselves
    if resources or walltime is not None:
        l_value = argv[argv.index("-l") + 1]
        assert l_value.startswith("+".join(resources))
    assert [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == "-t"] == [*types, "origin=g5kpure"]
    if props is not None:
        assert argv[argv.index("-p") + 1] == props


# ------------------------------------------------------------------------------------------- totality


@given(st.one_of(st.none(), st.integers(-1, 300)), st.text(), st.text())
def test_parsers_are_total_on_arbitrary_text(rc: int | None, out: str, err: str) -> None:
    for parser in PARSERS:
        assert isinstance(parser(rc, out, err), Success | Failure)


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=4), json_like, max_size=3))
def test_parsers_are_total_on_arbitrary_json(data: dict[str, Any]) -> None:
    out = json.dumps(data)
    for parser in PARSERS:
        assert isinstance(parser(0, out, ""), Success | Failure)


@given(st.sampled_from(NAMES), st.data())
def test_parsers_are_total_on_mutated_captures(name: str, data: st.DataObject) -> None:
    rc, out, err = load(name)
    cut = data.draw(st.integers(0, len(out)))
    lines = out.split("\n")
    drop = data.draw(st.integers(0, max(0, len(lines) - 1)))
    noise = data.draw(st.text(max_size=20))
    variants = [
        out[:cut],
        out[:cut] + noise + out[cut:],
        "\n".join(lines[:drop] + lines[drop + 1 :]),
        out.replace("\n", "\r\n"),
        out.replace("\n", "\r"),
    ]
    for variant in variants:
        for parser in PARSERS:
            assert isinstance(parser(rc, variant, err), Success | Failure)


@given(st.sampled_from(NAMES))
def test_crlf_never_changes_a_successful_parse(name: str) -> None:
    rc, out, err = load(name)
    for parser in PARSERS:
        lf = parser(rc, out, err)
        if isinstance(lf, Success):
            assert parser(rc, out.replace("\n", "\r\n"), err.replace("\n", "\r\n")) == lf, parser.__name__


def shuffled(value: Any, rnd: Any) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@given(st.sampled_from(JSON_NAMES), st.randoms(use_true_random=False), st.sampled_from([None, 1, 3]))
def test_json_key_order_never_changes_the_parse(name: str, rnd: Any, indent: int | None) -> None:
    rc, out, err = load(name)
    again = json.dumps(shuffled(json.loads(out), rnd), indent=indent)
    for parser in (parse_oarstat_jobs_json, parse_oarstat_list, parse_job_nodes):
        first = parser(rc, out, err)
        assert isinstance(first, Success)
        assert parser(rc, again, err) == first


# ------------------------------------------------ totality on huge, infinite and non-ASCII numbers

huge_int = st.one_of(
    st.integers(),
    st.integers(-(10**40), 10**40),
    st.builds(lambda k, s: s * 10**k, st.integers(15, 4000), st.sampled_from([1, -1, 7, -9])),
)
digit_run = st.one_of(
    st.text("0123456789", min_size=1, max_size=30),
    st.builds(lambda d, n: d * n, st.sampled_from("0179"), st.integers(15, 6000)),
)
non_ascii_digits = st.text(st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1, max_size=8)
number_text = st.one_of(digit_run, non_ascii_digits, st.builds(lambda a, b: a + "." + b, digit_run, digit_run))
json_number = st.one_of(
    huge_int.filter(lambda n: abs(n) < 10**4000),  # json.loads refuses more than 4300 digits (a ParseError)
    st.floats(),  # inf, -inf and nan become Infinity / NaN, which Python's json reads back
    st.sampled_from(["1e400", "-1e400", "1E+999", "Infinity", "-Infinity", "NaN", "1e30", "-0.0", "1.5e3"]),
    number_text,
)
NUMBER_KEYS = ["startTime", "submissionTime", "scheduledStart", "stopTime", "walltime", "exit_code", "array_id",
               "array_index", "resubmit_job_id", "assigned_resources", "Job_Id"]  # fmt: skip


def json_value(value: object, raw: bool) -> str:
    """``value`` as JSON text; a string either quoted or, when ``raw``, written as is (a number literal)."""
    return value if raw and isinstance(value, str) else json.dumps(value)


@given(st.sampled_from(NUMBER_KEYS), json_number, st.booleans(), st.one_of(st.just("1"), digit_run, non_ascii_digits))
def test_json_parsers_are_total_on_extreme_numbers(key: str, value: object, raw: bool, job_key: str) -> None:
    out = '{"' + job_key + '": {"state": "Running", "' + key + '": ' + json_value(value, raw) + "}}"
    for parser in PARSERS:
        result = parser(0, out, "")
        assert isinstance(result, Success | Failure)
    jobs = parse_oarstat_jobs_json(0, out, "")
    if isinstance(jobs, Success) and jobs.unwrap():
        job = jobs.unwrap()[0]
        for n in (job.job_id, job.start_time, job.submission_time, job.walltime, job.array_id, job.exit_status):
            assert n is None or (isinstance(n, int) and abs(n) < 10**18)


@given(number_text, st.sampled_from(NAMES), st.data())
def test_text_parsers_are_total_when_numbers_are_replaced_by_extreme_ones(
    number: str, name: str, data: st.DataObject
) -> None:
    rc, out, err = load(name)
    digits = [i for i, c in enumerate(out) if c.isdigit()]
    variants = [
        f"OAR_JOB_ID={number}\n",
        f"OAR_JOB_ID=-{number}\n",
        f"OAR_ARRAY_ID={number}\nOAR_JOB_ID=1\n",
        f"Job_Id: {number}\n    state = Running\n    walltime = {number}\n    assigned_resources = {number}+1\n",
        f"Job_Id: 1\n    state = Running\n    walltime = 1:{number}\n    exit_code = {number} (1,2,3)\n",
        f"{number}\n",
        f"{number}: Running\n",
        f"{number} R bob 0:00:01 W={number}:0:0,R=1\n",
        f"Deleting the job = {number} ...REGISTERED.\n",
    ]
    if digits:
        at = data.draw(st.sampled_from(digits))
        variants.append(out[:at] + number + out[at:])  # a real capture with a number made extreme
    for variant in variants:
        for parser in PARSERS:
            assert isinstance(parser(rc if variant is variants[-1] else 0, variant, err), Success | Failure)
    ids = parse_kavlan_ids(0, f"{number}\n", "")
    if isinstance(ids, Success):
        assert number.isascii() and len(number.lstrip("-")) <= 18 and ids.unwrap() == (int(number),)


any_value = st.one_of(
    st.none(),
    st.booleans(),
    huge_int,
    st.floats(),
    number_text,
    st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=4), huge_int), max_size=3),
    st.frozensets(st.text(max_size=4), max_size=4),
    st.sets(st.one_of(st.text(max_size=4), st.integers()), max_size=4),
    st.builds(lambda s: "1:" + s, digit_run),
)


@given(any_value, any_value, any_value, any_value, any_value)
def test_make_submission_is_total_and_what_it_accepts_becomes_an_argv(
    resources: Any, walltime: Any, job_type: Any, resa: Any, extra: Any
) -> None:
    made = make_submission(
        resources=resources, walltime=walltime, job_type=job_type, reservation_date=resa, additional_options=extra
    )
    assert isinstance(made, Success | Failure)
    if isinstance(made, Success):
        sub = made.unwrap()
        assert sub.walltime is None or 1 <= sub.walltime < 2**31
        argv = oarsub_argv(sub, tz=UTC)
        assert argv[0] == "oarsub" and all(isinstance(w, str) for w in argv)


@given(st.sets(st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=6)
               .filter(not_option), max_size=6))  # fmt: skip
def test_set_valued_types_and_resources_are_sorted(items: set[str]) -> None:
    sub = make_submission(resources=items, job_type=frozenset(items)).unwrap()
    assert sub.resources == sub.job_type == tuple(sorted(items))
