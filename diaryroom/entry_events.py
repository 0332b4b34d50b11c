"""Announcing what happened to an entry, after it happened, without ever undoing it.

Intake, review and the pipeline commit a change (a withdrawal, narrowed consent, an undone
approval, a re-render) and then ``announce`` it to the features listening through
``lifecycle``. The change itself never depends on a listener: a withdrawal has deleted
the entry's own files and is committed before anyone hears of it, and the person is told
it is done whatever a listener does.

A listener that fails is logged (``lifecycle.notify`` logs each one) and the event is
kept as a job row, ``lifecycle_<event>`` for the entry, so it is told again: the job
system retries it with back-off and its sweeper re-sends it after a crash, and a job
that keeps failing stays visible as failed. The retry tells every listener again (they
are safe to run twice) with actor ``worker``: a job carries only the entry's id.
Listeners commit their own work; a failed one's transaction is rolled back here.
"""
from __future__ import annotations

import logging

from . import jobs, lifecycle
from .extensions import db

log = logging.getLogger(__name__)
RETRY_ACTOR = "worker"
# The job that tells listeners again, per event (a job carries an id, not an argument).
RETELL = {name: f"lifecycle_{name}" for name in lifecycle.EVENTS}


def announce(name: str, *, entry_id: int, org_id: int, actor: str | None) -> bool:
    """Tell the listeners of ``name``; call it after the change is committed. True when
    all of them heard it; False when one failed and a job will tell them again."""
    try:
        lifecycle.notify(name, entry_id=entry_id, org_id=org_id, actor=actor)
        return True
    except Exception:
        db.session.rollback()  # whatever the failed listener left half-done
    try:
        job = jobs.enqueue(RETELL[name], entry_id, org_id=org_id)
        log.warning("a listener failed on %s of entry %s; job %s tells them again",
                    name, entry_id, job.id)
    except Exception:  # the change stands: the person is not told it failed
        log.exception("a listener failed on %s of entry %s and no retry could be queued",
                      name, entry_id)
    return False


def _retell(name: str):
    def retell(ctx: jobs.JobContext, entry_id: int | None) -> None:
        if entry_id is not None:
            lifecycle.notify(name, entry_id=entry_id, org_id=ctx.org_id, actor=RETRY_ACTOR)
    retell.__name__ = retell.__qualname__ = f"retell_{name}"
    return retell


for _name, _kind in RETELL.items():
    jobs.handler(_kind)(_retell(_name))
