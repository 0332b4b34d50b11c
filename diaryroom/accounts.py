"""Account services: organisations, users, sign-in, API tokens and kiosk pairing."""
from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from . import tenancy
from .auth.passwords import (
    DUMMY_HASH,
    hash_password,
    needs_rehash,
    one_time_password,
    verify_password,
)
from .domain.roles import Role, parse_role
from .errors import InvalidInput, NotFound
from .extensions import db
from .models import ApiToken, Kiosk, Organisation, User, hash_token, utcnow

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def slugify(name: str) -> str:
    """A URL-safe name for an organisation.

    >>> slugify("St Mungo's  Outreach")
    'st-mungo-s-outreach'
    """
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "org"


def create_organisation(name: str) -> Organisation:
    with tenancy.unscoped():
        org = Organisation(name=name, slug=slugify(name))
        db.session.add(org)
        db.session.commit()
    return org


def default_organisation(name: str) -> Organisation:
    """The single organisation of a small install, made on first start."""
    with tenancy.unscoped():
        org = db.session.scalar(select(Organisation).order_by(Organisation.id).limit(1))
    return org or create_organisation(name)


def create_user(org_id: int, email: str, role: str | Role, password: str | None = None,
                ) -> tuple[User, str | None]:
    """Create an account. Without a password, returns a one-time one the user must change."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address", code="invalid_email")
    try:
        role = parse_role(role.value if isinstance(role, Role) else role)
    except ValueError as e:
        raise InvalidInput(str(e), code="invalid_role") from None
    with tenancy.unscoped():
        if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
            raise InvalidInput(f"an account for {email} already exists", code="duplicate")
        generated = None if password else one_time_password()
        try:
            hashed = hash_password(password or generated)
        except ValueError as e:
            raise InvalidInput(str(e), code="weak_password") from None
        user = User(org_id=org_id, email=email, role=role.value, password_hash=hashed,
                    must_change_password=generated is not None)
        db.session.add(user)
        db.session.commit()
    return user, generated


def authenticate(email: str, password: str) -> User | None:
    with tenancy.unscoped():
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None or not user.active:
            verify_password(DUMMY_HASH, password)  # same cost either way
            return None
        if not verify_password(user.password_hash, password):
            return None
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
            db.session.commit()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise InvalidInput("your current password is not right", code="wrong_password")
    if current == new:
        raise InvalidInput("choose a password different from the current one",
                           code="same_password")
    try:
        user.password_hash = hash_password(new)
    except ValueError as e:
        raise InvalidInput(str(e), code="weak_password") from None
    user.must_change_password = False
    user.session_version += 1  # other browsers signed in as this user are signed out
    db.session.commit()


# Emails are unique across the installation (sign-in comes before the organisation is
# known), so an admin cannot be given an account that exists elsewhere. The same words for
# every address in use, theirs or another organisation's, so the page never says where.
EMAIL_UNAVAILABLE = ("that email address cannot be used for a new account. If the person "
                     "already has an account, here or elsewhere, ask them for another address")


def add_account(org_id: int, email: str, role: str | Role) -> tuple[User, str | None]:
    """An admin adds an account to their organisation (``create_user`` for the web page)."""
    try:
        return create_user(org_id, email, role)
    except InvalidInput as e:
        if e.code == "duplicate":
            raise InvalidInput(EMAIL_UNAVAILABLE, code="email_unavailable") from None
        raise


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: every session cookie issued so far stops working."""
    with tenancy.as_org(user.org_id):
        user.session_version += 1
        db.session.commit()


def org_user(org_id: int, user_id: int) -> User:
    """An account of the organisation, or NotFound (accounts elsewhere do not exist here)."""
    with tenancy.as_org(org_id):
        user = db.session.get(User, user_id)
    if user is None or user.org_id != org_id:
        raise NotFound("account not found")
    return user


def _not_yourself(user: User, by: User | None, action: str) -> None:
    if by is not None and by.id == user.id:
        raise InvalidInput(f"you cannot {action} your own account; ask another admin",
                           code="own_account")


def deactivate_user(user: User, *, by: User | None = None) -> int:
    """Off-board an account: no more sign-in, its sessions end at once and every API token
    it holds is revoked. Returns how many tokens were revoked."""
    _not_yourself(user, by, "deactivate")
    with tenancy.as_org(user.org_id):
        user.active = False
        user.session_version += 1
        live = list(db.session.scalars(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))))
        for row in live:
            row.revoked_at = utcnow()
        db.session.commit()
    return len(live)


def activate_user(user: User) -> None:
    """Let an account sign in again. Revoked tokens stay revoked."""
    with tenancy.as_org(user.org_id):
        user.active = True
        db.session.commit()


def change_role(user: User, role: str | Role, *, by: User | None = None) -> None:
    """A new role, effective at once: sessions end, so no page keeps the old role's view."""
    _not_yourself(user, by, "change the role of")
    try:
        new = parse_role(role.value if isinstance(role, Role) else role)
    except ValueError as e:
        raise InvalidInput(str(e), code="invalid_role") from None
    if new.value == user.role:
        return
    with tenancy.as_org(user.org_id):
        user.role = new.value
        user.session_version += 1
        db.session.commit()


def find_user(email: str) -> User:
    with tenancy.unscoped():
        user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no account for {email}")
    return user


def issue_api_token(user: User, name: str = "API token") -> tuple[ApiToken, str]:
    with tenancy.as_org(user.org_id):
        row, token = ApiToken.issue(user, name[:100] or "API token")
        db.session.add(row)
        db.session.commit()
    return row, token


def list_api_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).order_by(ApiToken.id)))


def revoke_api_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("token not found")
    row.revoked_at = utcnow()
    db.session.commit()


def list_org_api_tokens(org_id: int) -> list[ApiToken]:
    """Every live API token of the organisation, with its owner, for the admin page."""
    with tenancy.as_org(org_id):
        return list(db.session.scalars(select(ApiToken).where(
            ApiToken.revoked_at.is_(None)).options(joinedload(ApiToken.user))
            .order_by(ApiToken.id)))


def revoke_org_api_token(org_id: int, token_id: int) -> None:
    """An admin revokes any token of their organisation."""
    with tenancy.as_org(org_id):
        row = db.session.get(ApiToken, token_id)
        if row is None or row.org_id != org_id:
            raise NotFound("token not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            db.session.commit()


def pair_kiosk(org_id: int, name: str) -> tuple[Kiosk, str]:
    with tenancy.as_org(org_id):
        kiosk, token = Kiosk.pair(org_id, name[:100])
        db.session.add(kiosk)
        db.session.commit()
    return kiosk, token


PAIRING_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L or U to misread
PAIRING_CODE_LENGTH = 8  # about 39 bits; with a short life and a rate limit, plenty
PAIRING_MINUTES = 15


def _pairing_hash(code: str) -> str:
    return hash_token("pair:" + re.sub(r"[^A-Z0-9]", "", code.upper()))


def issue_pairing_code(kiosk: Kiosk) -> str:
    """A short, single-use code (``K7MQ-2XR9``) that pairs the device within 15 minutes."""
    raw = "".join(secrets.choice(PAIRING_ALPHABET) for _ in range(PAIRING_CODE_LENGTH))
    with tenancy.as_org(kiosk.org_id):
        kiosk.pairing_code_hash = _pairing_hash(raw)
        kiosk.pairing_expires_at = utcnow() + dt.timedelta(minutes=PAIRING_MINUTES)
        db.session.commit()
    return f"{raw[:4]}-{raw[4:]}"


def redeem_pairing_code(code: str) -> tuple[Kiosk, str] | None:
    """The kiosk for a live pairing code, with a fresh token; the code is used up."""
    with tenancy.unscoped():
        kiosk = db.session.scalar(select(Kiosk).where(
            Kiosk.pairing_code_hash == _pairing_hash(code), Kiosk.revoked_at.is_(None),
            Kiosk.pairing_expires_at > utcnow()))
        if kiosk is None:
            return None
        token = Kiosk.PREFIX + secrets.token_urlsafe(32)
        kiosk.token_hash = hash_token(token)  # the link shown with the code stops working
        kiosk.pairing_code_hash = kiosk.pairing_expires_at = None
        db.session.commit()
    return kiosk, token


def revoke_kiosk(kiosk_id: int) -> None:
    kiosk = db.session.get(Kiosk, kiosk_id)
    if kiosk is None:
        raise NotFound("kiosk not found")
    kiosk.revoked_at = utcnow()
    db.session.commit()


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def list_kiosks() -> list[Kiosk]:
    return list(db.session.scalars(select(Kiosk).order_by(Kiosk.id)))
