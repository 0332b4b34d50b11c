"""Diary Room: the application factory. It only wires things together."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from .config import Config, restrict_file_modes

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Config | None = None) -> Flask:
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    app.config.from_object(config or Config())
    restrict_file_modes(app.config["DATA_DIR"])

    import podcast

    from . import adapters, bodylimit, database, i18n, jobs, processing, proxy, web
    from .auth import principal
    from .extensions import csrf, limiter

    proxy.init_app(app)
    bodylimit.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    principal.init_app(app)
    adapters.init_app(app)
    jobs.init_app(app)
    processing.init_app(app)  # entry jobs: staff see one waiting to retry
    podcast.init_app(app)  # the studio: render jobs, lifecycle listeners
    i18n.init_app(app)
    web.init_app(app)
    return app
