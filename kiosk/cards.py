"""Question cards: optional prompts the kiosk offers ("What helped you this week?").

Staff, admins and co-hosts keep the list on ``/kiosk/cards``; the kiosk shows the active
ones, in order, after "Just talk" (which is always offered first).
"""
from __future__ import annotations

import datetime as dt

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from diaryroom.auth import allow, current_principal
from diaryroom.domain.roles import Role
from diaryroom.extensions import db
from diaryroom.models import OrgScoped, utcnow

from . import bp

MAX_TEXT = 200  # characters: a card is one short question


class QuestionCard(OrgScoped, db.Model):
    __tablename__ = "question_cards"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(MAX_TEXT))
    active: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


def all_cards() -> list[QuestionCard]:
    """This organisation's cards (the request is scoped to it), in kiosk order."""
    return list(db.session.scalars(
        select(QuestionCard).order_by(QuestionCard.position, QuestionCard.id)))


def active_cards() -> list[QuestionCard]:
    return [c for c in all_cards() if c.active]


def add_card(text: str, created_by_id: int | None) -> QuestionCard:
    text = " ".join(text.split())
    if not text:
        raise ValueError("Write the question first.")
    if len(text) > MAX_TEXT:
        raise ValueError(f"A question can be at most {MAX_TEXT} characters long.")
    last = db.session.scalar(select(func.max(QuestionCard.position)))
    card = QuestionCard(text=text, active=True, position=(last or 0) + 1,
                        created_by_id=created_by_id)
    db.session.add(card)
    db.session.commit()
    return card


def _card(card_id: str) -> QuestionCard | None:
    if not card_id.isdigit():
        return None
    # A query (not session.get) so the organisation filter always applies.
    return db.session.scalar(select(QuestionCard).where(QuestionCard.id == int(card_id)))


@bp.route("/cards", methods=["GET", "POST"])
@allow(Role.ADMIN, Role.STAFF, Role.COHOST)
def cards():
    status = 200
    if request.method == "POST":
        action = request.form.get("action", "")
        if action == "add":
            try:
                add_card(request.form.get("text", ""), current_principal().user.id)
            except ValueError as e:
                flash(str(e), "error")
                status = 422
            else:
                flash("The question card has been added.", "info")
                return redirect(url_for("kiosk.cards"))
        else:
            card = _card(request.form.get("card_id", ""))
            if card is None or action not in ("hide", "show", "delete"):
                flash("That question card was not found. It may have been deleted.", "error")
                status = 404
            else:
                if action == "delete":
                    db.session.delete(card)
                    message = "The question card has been deleted."
                else:
                    card.active = action == "show"
                    message = ("The question card is shown on the kiosk again." if card.active
                               else "The question card is hidden from the kiosk.")
                db.session.commit()
                flash(message, "info")
                return redirect(url_for("kiosk.cards"))
    return render_template("kiosk/cards.html", cards=all_cards(), max_text=MAX_TEXT), status
