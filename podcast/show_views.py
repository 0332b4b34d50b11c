"""The show's settings page: what every feed says about the podcast (admin and staff).

Registered on the studio's ``podcast`` blueprint (imported by ``podcast/__init__.py``).
A refused form comes back with what was typed and a message beside each field to change.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from diaryroom.auth import allow, current_principal
from diaryroom.bodylimit import accepts_media
from diaryroom.domain.roles import Role
from diaryroom.extensions import db
from diaryroom.models import Organisation

from .publishing import settings
from .publishing.show import public_feed_url, show_for
from .studio.assets import MAX_COVER_BYTES
from .views import bp

SHOW_TEAM = (Role.ADMIN, Role.STAFF)
# A form around the picture: its other fields and multipart's own lines.
FORM_OVERHEAD = 64 * 1024  # bytes


def _page(form: dict, problems: dict[str, str] | None = None, status: int = 200):
    org_id = current_principal().org_id
    show, org = show_for(org_id), db.session.get(Organisation, org_id)
    # The artwork as feeds serve it (public: every feed names it).
    artwork_url = (url_for("feeds.artwork", slug=org.slug,
                           name=show.artwork_key.rsplit("/", 1)[-1])
                   if show.artwork_key else None)
    return render_template(
        "podcast/show.html", show=show, form=form, problems=problems or {},
        categories=settings.APPLE_CATEGORIES, category_value=settings.category_value,
        public_feed_url=public_feed_url(org), artwork_url=artwork_url,
        public_needs=settings.public_needs(show)), status


def _form_of(show) -> dict:
    return {"title": show.title, "description": show.description or "",
            "language": show.language, "author": show.author or "",
            "owner_name": show.owner_name or "", "owner_email": show.owner_email or "",
            "link": show.link or "", "explicit": show.explicit,
            "category": settings.category_value(show.category, show.subcategory)}


@bp.route("/show", methods=["GET", "POST"])
@allow(*SHOW_TEAM)
@accepts_media
def show():
    org_id = current_principal().org_id
    if request.method == "GET":
        return _page(_form_of(show_for(org_id)))
    limit = MAX_COVER_BYTES + FORM_OVERHEAD
    if (request.content_length or 0) > limit:
        # Refused before the body is read: the picture could not be used anyway.
        return _page(_form_of(show_for(org_id)), {"artwork": (
            "This picture is too big a file. Please choose one under "
            f"{MAX_COVER_BYTES // (1024 * 1024)} MB.")}, 422)
    request.max_content_length = limit  # a body sent without a length stops there too
    form = request.form.to_dict()
    picture = request.files.get("artwork")
    try:
        settings.save_show(org_id, form, picture.stream if picture and picture.filename
                           else None)
    except settings.ShowDetailsInvalid as e:
        return _page(form, e.problems, 422)
    flash("Saved. Podcast apps will get the new details the next time they check.", "success")
    return redirect(url_for("podcast.show"))

