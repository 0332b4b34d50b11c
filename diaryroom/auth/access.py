"""Every route declares who may use it; ``enforce`` checks it before any view runs.

A route without a declaration is refused (fail closed), and the role-matrix test
walks every route to prove the declarations are what we mean.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..domain.roles import Role

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"  # anyone, signed in or not
KIOSK = "kiosk"    # a paired kiosk device


def allow(*who: Role | str, machine: bool = False) -> Callable[[F], F]:
    """Declare who may call a view: roles, ``KIOSK`` and/or ``PUBLIC``.

    ``machine=True`` marks a view that programs call (JSON, tus) outside /api: it answers
    a caller without credentials with a JSON 401 instead of the sign-in page.
    """
    declared = frozenset(w.value if isinstance(w, Role) else w for w in who)
    valid = {r.value for r in Role} | {PUBLIC, KIOSK}
    if not declared or not declared <= valid:
        raise ValueError(f"allow() needs roles, KIOSK or PUBLIC, got {sorted(declared)}")

    def decorate(view: F) -> F:
        view.access = declared  # type: ignore[attr-defined]
        view.machine = machine  # type: ignore[attr-defined]
        return view

    return decorate


def declared_access(view: Callable[..., Any] | None) -> frozenset[str] | None:
    return getattr(view, "access", None)


def is_machine_view(view: Callable[..., Any] | None) -> bool:
    return bool(getattr(view, "machine", False))


def permits(declared: frozenset[str], principal_kind: str | None, role: str | None) -> bool:
    """Pure decision: may a principal of this kind and role use a route so declared?

    >>> permits(frozenset({"staff"}), "user", "staff")
    True
    >>> permits(frozenset({"staff"}), "kiosk", None)
    False
    >>> permits(frozenset({"public"}), None, None)
    True
    """
    if PUBLIC in declared:
        return True
    if principal_kind == "kiosk":
        return KIOSK in declared
    if principal_kind == "user":
        return role in declared
    return False
