"""Leaving the IO world: the one escape from ``IOResult`` of the adapters, and the value-or-raise call for scripts."""

from __future__ import annotations

from typing import TypeVar, overload

from returns.io import IO, IOFailure, IOResult
from returns.result import Failure, Result, Success
from returns.unsafe import unsafe_perform_io

from g5kpure.errors import G5kError, value_or_raise

_T = TypeVar("_T")
_E = TypeVar("_E")


@overload
def performed(value: IOResult[_T, _E]) -> Result[_T, _E]: ...


@overload
def performed(value: IO[_T]) -> _T: ...


def performed(value: IOResult[_T, _E] | IO[_T]) -> Result[_T, _E] | _T:
    """What a performed effect gave: the plain ``Result`` of an ``IOResult``, the value of an ``IO``."""
    if isinstance(value, IOFailure):
        return Failure(unsafe_perform_io(value.failure()))
    if isinstance(value, IOResult):
        return Success(unsafe_perform_io(value.unwrap()))
    return unsafe_perform_io(value)


@overload
def value_of(result: IOResult[_T, G5kError]) -> _T: ...


@overload
def value_of(result: Result[_T, G5kError]) -> _T: ...


@overload
def value_of(result: IO[_T]) -> _T: ...


def value_of(result: IOResult[_T, G5kError] | Result[_T, G5kError] | IO[_T]) -> _T:
    """The value of a ``Result``, ``IOResult`` or ``IO``; a failure raises its ``G5kError`` (``str()``: its message)."""
    if isinstance(result, IOResult):
        return value_or_raise(performed(result))
    if isinstance(result, IO):
        return performed(result)
    return value_or_raise(result)
