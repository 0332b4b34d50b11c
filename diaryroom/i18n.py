"""Translations with Flask-Babel. English (en_GB) is the only language shipped; to add one
see translations/README.md. Every word on the kiosk goes through ``gettext`` so a
translation needs no change to the code."""
from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import Flask, request
from flask_babel import Babel, get_locale

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
DEFAULT_LOCALE = "en_GB"

babel = Babel()


def available_locales() -> list[str]:
    """The default locale plus every language with a compiled catalogue."""
    found = sorted(p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))
    return [DEFAULT_LOCALE] + [name for name in found if name != DEFAULT_LOCALE]


def select_locale() -> str:
    """The browser's preferred language among those we have, else British English."""
    offered = available_locales()
    if len(offered) == 1:
        return DEFAULT_LOCALE
    best = request.accept_languages.best_match(
        [name.replace("_", "-") for name in offered] + [name.split("_")[0] for name in offered])
    if not best:
        return DEFAULT_LOCALE
    best = best.replace("-", "_")
    return next((name for name in offered if name == best or name.split("_")[0] == best),
                DEFAULT_LOCALE)


def html_lang() -> str:
    """The current locale as an HTML ``lang`` value, e.g. ``en-GB``."""
    locale = get_locale() or Locale.parse(DEFAULT_LOCALE)
    return str(locale).replace("_", "-")


def text_direction() -> str:
    locale = get_locale() or Locale.parse(DEFAULT_LOCALE)
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Europe/London")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(html_lang=html_lang, text_direction=text_direction)
