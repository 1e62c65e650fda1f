"""Each kind of error has its HTTP answer, decided once: a new kind must say its status."""

from __future__ import annotations

import inspect

import vms.errors
from vms.errors import NotFoundError, TooManyAttemptsError, VmsError
from vms.vocab import Subsystem
from vms.web.errors import STATUS, status_of


def _kinds() -> list[type[VmsError]]:
    return [
        cls
        for _name, cls in inspect.getmembers(vms.errors, inspect.isclass)
        if issubclass(cls, VmsError) and cls is not VmsError
    ]


def test_every_kind_of_error_has_a_status_and_none_is_a_500() -> None:
    kinds = _kinds()
    assert len(kinds) > 15
    undecided = [k.__name__ for k in kinds if not any(c in STATUS for c in k.__mro__)]
    assert not undecided, f"kinds of error without an HTTP status in vms.web.errors: {undecided}"
    # Each kind made as it is raised (a kind may ask for more than a message).
    extra = {TooManyAttemptsError: (30.0,)}
    statuses = {k.__name__: status_of(k("x", *extra.get(k, ()))) for k in kinds}
    assert all(400 <= s < 600 and s != 500 for s in statuses.values()), statuses


def test_the_kind_decides_not_the_subsystem() -> None:
    for subsystem in Subsystem:
        assert status_of(NotFoundError("no person 7", subsystem=subsystem)) == 404
