"""Podcast studio and publishing: co-hosts make episodes from approved entries, their own
recordings and music, and render them."""
from . import show_views  # noqa: F401  (the show settings page, on the same bp)
from .publishing import models as _publishing  # noqa: F401  (tables, for the metadata)
from .studio import models  # noqa: F401  (the studio's tables, for the metadata)
from .views import bp

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    """The studio's jobs and lifecycle listeners (the blueprint is registered by web)."""
    from .publishing import events as publishing_events
    from .studio import jobs, listeners, recordings  # noqa: F401  (jobs register on import)

    listeners.init_app(app)
    publishing_events.init_app(app)  # after the studio's: renders it deleted are gone
