"""Who may do what. Roles are fixed by the product; routes declare which they allow."""
from __future__ import annotations

import enum


class Role(enum.StrEnum):
    ADMIN = "admin"      # runs the installation for an organisation
    STAFF = "staff"      # reviews entries and responds to safeguarding flags
    COHOST = "cohost"    # lived-experience co-host: edits podcast episodes
    PANEL = "panel"      # expert panel: listens and reads theme summaries


ALL_ROLES: tuple[Role, ...] = tuple(Role)
TEAM: frozenset[Role] = frozenset({Role.ADMIN, Role.STAFF})


def parse_role(value: str) -> Role:
    """Parse a role name, with an error that lists the valid ones.

    >>> parse_role("staff")
    <Role.STAFF: 'staff'>
    """
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValueError(f"unknown role {value!r}; choose one of {names}") from None
