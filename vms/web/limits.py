"""Input the database and the calendar can hold: no 500 from a number or a date at the edge.

Python takes any integer and any ``datetime`` from year 1 to 9999; the database does not
(SQLite and PostgreSQL hold 64-bit integers), and turning ``0001-01-01T00:00+14:00`` into UTC,
or adding a day to 9999-12-31, overflows. So every integer and every time a request brings is
checked where it comes in, and a value out of range is a 422 that names its field:

- body fields: every input model (``InModel``) checks its integer, float, text and time
  fields (row ids are 32-bit, other integers 64-bit; no NUL characters, which PostgreSQL
  cannot store; finite floats);
- path and query parameters: ``check_params``, a dependency of the whole app, checks the
  parameters of the matched route that are declared as integers, times or dates (whatever
  router they come from, so a new route is covered without doing anything);
- ``out_of_range`` names the offending parameter when an overflow still escapes, else says
  so (the safety net of the error handler).
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationInfo, field_validator

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: Row ids are 32-bit integers (``Integer`` primary keys; PostgreSQL's ``integer``).
ID_MIN, ID_MAX = -(2**31), 2**31 - 1
FLOAT_MAX = 1e12  # hours, days, metres, seconds: nothing real is near it
#: Times within this of the calendar's ends are refused: a day either side is a time zone
#: away from overflowing, and nothing vms records lies there.
_MARGIN = timedelta(days=2)
_EARLIEST = datetime.min.replace(tzinfo=UTC) + _MARGIN
_LATEST = datetime.max.replace(tzinfo=UTC) - _MARGIN
_INT = re.compile(r"^\s*[+-]?\d+\s*$")


def is_id(name: str) -> bool:
    """A parameter or field that holds a row id (``segment_id``, ``id``, ``person``...)."""
    return name in ("id", "person", "after", "last_event_id") or name.endswith("_id")


def problem_of(value: Any, *, row_id: bool = False) -> str | None:
    """Why ``value`` (a parsed int, float, str, datetime or date) cannot be used, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        low, high = (ID_MIN, ID_MAX) if row_id else (INT_MIN, INT_MAX)
        if not low <= value <= high:
            what = "an id" if row_id else "a number"
            return f"{what} must be between {low} and {high}"
        return None
    if isinstance(value, float):
        if not math.isfinite(value) or abs(value) > FLOAT_MAX:
            return f"must be a finite number of at most {FLOAT_MAX:g}"
        return None
    if isinstance(value, str):
        return "must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, datetime):
        try:
            at = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        except (OverflowError, ValueError):
            return "is outside the calendar once converted to UTC"
        if not _EARLIEST <= at <= _LATEST:
            return "is too close to the end of the calendar (years 1 to 9999)"
        return None
    if isinstance(value, date) and not (_EARLIEST.date() <= value <= _LATEST.date()):
        return "is too close to the end of the calendar (years 1 to 9999)"
    return None


class InModel(BaseModel):
    """Base of request bodies: integers and times must fit the database and the calendar."""

    @field_validator("*", mode="after")
    @classmethod
    def _in_range(cls, value: Any, info: ValidationInfo) -> Any:
        row_id = is_id(info.field_name or "")
        for item in value if isinstance(value, list | tuple | set) else (value,):
            problem = problem_of(item, row_id=row_id)
            if problem is not None:
                raise ValueError(problem)
        return value


def _kinds(annotation: Any) -> set[type]:
    """int, datetime, date among the types an annotation allows (list[int] | None: int)."""
    found: set[type] = set()
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, set, tuple, typing.Annotated):
        for arg in typing.get_args(annotation):
            found |= _kinds(arg)
    elif annotation in (int, datetime, date):
        found.add(annotation)
    return found


def _fields(dependant: Any) -> Iterator[tuple[str, Any]]:
    for f in [*dependant.path_params, *dependant.query_params]:
        yield f.alias, f
    for sub in dependant.dependencies:
        yield from _fields(sub)


def _parse(kind: type, raw: str) -> Any:
    if kind is int:
        return int(raw) if _INT.match(raw) else None
    try:
        if kind is datetime:
            return datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None  # not a time at all: the route's own validation says so


def problems_of(request: Request) -> list[tuple[str, str, str, str]]:
    """(where, name, problem, raw) of each path or query parameter of the matched route that
    is out of range."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    problems = []
    seen: set[tuple[str, str]] = set()
    for name, field in _fields(dependant):
        where = "path" if name in request.path_params else "query"
        raws = (
            [str(request.path_params[name])]
            if where == "path"
            else request.query_params.getlist(name)
        )
        # Every integer in a path is a row id here; in a query, the ones named so.
        row_id = where == "path" or is_id(name)
        kinds = sorted(_kinds(field.field_info.annotation), key=lambda k: k.__name__)
        for raw in raws:
            for value in [raw, *(_parse(kind, raw) for kind in kinds)]:
                problem = problem_of(value, row_id=row_id)
                if problem is not None and (where, name) not in seen:
                    seen.add((where, name))
                    problems.append((where, name, problem, raw[:80].replace("\x00", "\\0")))
    return problems


def check_params(request: Request) -> None:
    """The app-wide dependency: 422 naming each out-of-range integer or time parameter."""
    problems = problems_of(request)
    if problems:
        raise RequestValidationError(
            [
                {"loc": (where, name), "msg": problem, "type": "value_error", "input": raw}
                for where, name, problem, raw in problems
            ]
        )
