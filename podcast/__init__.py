"""Podcast studio and publishing. For now: the approved entries co-hosts can work from."""
from flask import Blueprint, render_template

from diaryroom import entries
from diaryroom.auth import allow
from diaryroom.domain import status as st
from diaryroom.domain.roles import Role

from .studio import models  # noqa: F401  (the studio's tables, for the metadata)

bp = Blueprint("podcast", __name__, url_prefix="/podcast")


@bp.get("/")
@allow(Role.ADMIN, Role.COHOST)
def index():
    return render_template("podcast/index.html", entries=entries.list_entries(status=st.APPROVED))


def init_app(app) -> None:
    """The studio's jobs and lifecycle listeners (the blueprint is registered by web)."""
