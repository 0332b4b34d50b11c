"""Diary Room: the application factory. It only wires things together."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import Config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.from_object(config or Config())

    from . import adapters, database, i18n, jobs, web
    from .auth import principal
    from .extensions import csrf, limiter

    database.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    principal.init_app(app)
    adapters.init_app(app)
    jobs.init_app(app)
    i18n.init_app(app)
    web.init_app(app)
    return app
