"""Staff pages for reviewing entries (safeguarding and redaction come with the pipeline)."""
from flask import Blueprint, render_template

from .. import entries
from ..auth import allow
from ..domain.roles import Role

bp = Blueprint("review", __name__, url_prefix="/review")
TEAM = (Role.ADMIN, Role.STAFF)


@bp.get("/")
@allow(*TEAM)
def index():
    return render_template("review/entries.html", entries=entries.list_entries())


@bp.get("/entries/<int:entry_id>")
@allow(*TEAM)
def entry(entry_id: int):
    item = entries.get_entry(entry_id)
    return render_template("review/entry.html", entry=item,
                           transcript=entries.load_transcript(item),
                           written=entries.load_text(item))
