"""A person's own pages: their private podcast feed link (every signed-in role).

Podcast apps cannot sign in, so the link itself is the key: it is shown only to its
owner, never cached, and a new one can be had at any time (the old one then stops).
"""
from __future__ import annotations

import segno
from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from markupsafe import Markup, escape

from podcast.publishing import listeners

from .auth import allow, current_principal
from .domain.roles import ALL_ROLES
from .extensions import db
from .models import Organisation

bp = Blueprint("account", __name__, url_prefix="/account")
QR_NAME = "QR code of your feed link. The same link is in the box above it."


def qr_svg(url: str) -> Markup:
    """The link as a QR code: an SVG to put in the page as it is, named for screen
    readers. Medium error correction still scans from a phone screen or a smudged
    print-out, and keeps the code small enough for a long link."""
    svg = segno.make(url, error="m").svg_inline(
        scale=1, border=4, omitsize=True, light="#fff", svgclass="qr", lineclass=None)
    # segno escapes what it writes; the name added here is ours, escaped too.
    named = f'<svg role="img" aria-label="{escape(QR_NAME)}" focusable="false" '
    # segno's own SVG of our own URL, with an escaped label: no user text reaches it.
    return Markup(svg.replace("<svg ", named, 1))  # noqa: S704  # nosec B704


@bp.get("/feed")
@allow(*ALL_ROLES)
def feed():
    principal = current_principal()
    listener = listeners.listener_for(principal.user)  # the live one, if any
    org = db.session.get(Organisation, principal.org_id)
    url = listeners.feed_url(org, listeners.token_of(listener)) if listener else None
    response = make_response(render_template(
        "account/feed.html", feed_url=url, qr=qr_svg(url) if url else None,
        org_name=org.name))
    response.headers["Cache-Control"] = "no-store"  # the link is a key: keep no copy
    return response


@bp.post("/feed/new")
@allow(*ALL_ROLES)
def new_feed_link():
    user = current_principal().user
    had_one = listeners.listener_for(user) is not None
    listeners.create_listener(user, by=user)
    if had_one:
        flash("Here is your new link. The old link does not work any more, so put the new "
              "one in your podcast app.", "success")
    else:
        flash("Here is your feed link. Put it in your podcast app.", "success")
    return redirect(url_for("account.feed"))
