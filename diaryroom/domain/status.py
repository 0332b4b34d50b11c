"""Entry states and the moves between them.

An entry only moves forward through the pipeline; going back (for example from
``approved`` to ``awaiting_review``) needs a recorded review decision, and
``withdrawn`` is final.
"""
from __future__ import annotations

RECEIVED = "received"
PROCESSING = "processing"
AWAITING_REVIEW = "awaiting_review"
APPROVED = "approved"
NEEDS_ATTENTION = "needs_attention"
WITHDRAWN = "withdrawn"

STATES = (RECEIVED, PROCESSING, AWAITING_REVIEW, APPROVED, NEEDS_ATTENTION, WITHDRAWN)

_FORWARD = {
    RECEIVED: {PROCESSING, NEEDS_ATTENTION, WITHDRAWN},
    # processing -> processing lets a re-run job (after a crash) claim the entry again
    PROCESSING: {PROCESSING, AWAITING_REVIEW, NEEDS_ATTENTION, WITHDRAWN},
    AWAITING_REVIEW: {APPROVED, NEEDS_ATTENTION, WITHDRAWN},
    APPROVED: {WITHDRAWN},
    NEEDS_ATTENTION: {WITHDRAWN},
    WITHDRAWN: set(),
}
# Moves that are only allowed as a recorded decision by a member of staff.
_BY_DECISION = {
    AWAITING_REVIEW: {PROCESSING},          # re-render after edits
    APPROVED: {AWAITING_REVIEW},            # send back
    NEEDS_ATTENTION: {PROCESSING, AWAITING_REVIEW},  # retry after a fix
}


class TransitionError(ValueError):
    pass


def check_transition(current: str, new: str, *, decision: bool = False) -> None:
    """Raise ``TransitionError`` unless ``current -> new`` is allowed.

    >>> check_transition("received", "processing")
    >>> check_transition("approved", "awaiting_review", decision=True)
    >>> check_transition("withdrawn", "received")
    Traceback (most recent call last):
    ...
    diaryroom.domain.status.TransitionError: an entry cannot go from withdrawn to received
    """
    if new in _FORWARD.get(current, set()):
        return
    if decision and new in _BY_DECISION.get(current, set()):
        return
    raise TransitionError(f"an entry cannot go from {current} to {new}")
