"""Organisation scoping, in one place.

Every ORM query on an ``OrgScoped`` model is filtered by the organisation in the
current context, and every flush refuses to write a row of another organisation.
With no organisation in context the filter matches nothing (fail closed); code that
must see across organisations (sign-in, token lookup, the job sweeper) says so
with ``unscoped()``.
"""
from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, false
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from .models import OrgScoped

_UNSCOPED: Any = object()
_current: contextvars.ContextVar[Any] = contextvars.ContextVar("diaryroom_org", default=None)


class CrossOrganisationWrite(PermissionError):
    pass


def current_org_id() -> int | None:
    value = _current.get()
    return None if value is _UNSCOPED else value


def set_org(org_id: int | None) -> contextvars.Token:
    return _current.set(org_id)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def as_org(org_id: int) -> Iterator[None]:
    token = _current.set(org_id)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def unscoped() -> Iterator[None]:
    token = _current.set(_UNSCOPED)
    try:
        yield
    finally:
        _current.reset(token)


def _scope_query(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    org = _current.get()
    if org is _UNSCOPED:
        return
    if org is None:
        criteria = lambda cls: false()  # noqa: E731 - no organisation, no rows
    else:
        criteria = lambda cls: cls.org_id == org  # noqa: E731
    state.statement = state.statement.options(
        with_loader_criteria(OrgScoped, criteria, include_aliases=True))


def _guard_flush(session: Session, flush_context: Any, instances: Any) -> None:
    org = _current.get()
    if org is _UNSCOPED:
        return
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, OrgScoped):
            continue
        if obj.org_id is None and org is not None and obj in session.new:
            obj.org_id = org
        if org is None or obj.org_id != org:
            raise CrossOrganisationWrite(
                f"refusing to write {type(obj).__name__} outside the current organisation")


def install() -> None:
    """Attach the listeners once per process (they apply to every Session)."""
    if not event.contains(Session, "do_orm_execute", _scope_query):
        event.listen(Session, "do_orm_execute", _scope_query)
        event.listen(Session, "before_flush", _guard_flush)
