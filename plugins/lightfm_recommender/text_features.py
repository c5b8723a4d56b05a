"""Text cleaning and TF-IDF features (contract §8.5), for any backend.

Cleaning, in the contract's order: remove URLs (``http\\S+``), remove tokens
containing ``@``, Unicode NFKD and drop non-ASCII, remove punctuation
(``[^\\w\\s]``), remove digits, collapse spaces, lowercase, remove stop words.
Then scikit-learn's :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
with its default settings and float32 output, fitted per tenant and per side.

Bounds (:class:`TextLimits`, LightFM options ``text_max_chars``, ``text_max_terms``,
``text_min_df``): each document is cut to ``max_chars`` characters before cleaning and
the vocabulary to the ``max_terms`` most frequent terms, so one enormous document
cannot give an entity hundreds of thousands of features (LightFM's cost per sample
grows with them). The defaults do not bind on ordinary text; when they bind, it is
logged.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

log = logging.getLogger(__name__)

_URL = re.compile(r"http\S+")
_PUNCTUATION = re.compile(r"[^\w\s]")
_DIGITS = re.compile(r"\d")


def clean_text(text: str, stop_words: Collection[str] = frozenset()) -> str:
    """Clean one document as §8.5 says; the result is lowercase ASCII words joined by spaces.

    Args:
        text: Raw text (any Unicode).
        stop_words: Lowercase words removed last.
    """
    text = _URL.sub("", text)
    text = " ".join(token for token in text.split() if "@" not in token)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = _PUNCTUATION.sub("", text)
    text = _DIGITS.sub("", text)
    words = text.lower().split()
    return " ".join(word for word in words if word not in stop_words)


@dataclass(frozen=True)
class TextLimits:
    """Bounds of the TF-IDF features of one side (users or items) of a tenant.

    Attributes:
        max_chars: Characters of a document kept (before cleaning).
        max_terms: Terms kept, the most frequent first (TF-IDF ``max_features``).
        min_df: Documents a term must appear in to be kept (TF-IDF ``min_df``).
    """

    max_chars: int = 20_000
    max_terms: int = 20_000
    min_df: int = 1


#: The defaults of the LightFM options ``text_max_chars``, ``text_max_terms``, ``text_min_df``.
DEFAULT_TEXT_LIMITS = TextLimits()


def tfidf_features(
    texts: Sequence[str],
    stop_words: Collection[str] = frozenset(),
    limits: TextLimits = DEFAULT_TEXT_LIMITS,
    label: str = "texts",
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """TF-IDF of the cleaned ``texts``: a (len(texts), V) float32 CSR and the V terms.

    When no document has a token (e.g. every text empty), the matrix has no columns.

    Args:
        texts: Raw documents.
        stop_words: Lowercase words removed.
        limits: Document length and vocabulary bounds; logged when they bind.
        label: Names the texts in the log, e.g. ``"tenant 3 user texts"``.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    cleaned = [clean_text(text, stop_words) for text in _cut(texts, limits.max_chars, label)]
    vectorizer = TfidfVectorizer(
        dtype=np.float32, max_features=limits.max_terms, min_df=limits.min_df
    )
    try:
        matrix = vectorizer.fit_transform(cleaned)
    except ValueError:  # empty vocabulary
        return sp.csr_matrix((len(cleaned), 0), dtype=np.float32), ()
    names = tuple(str(name) for name in vectorizer.get_feature_names_out())
    if len(names) == limits.max_terms:
        distinct = len({word for text in cleaned for word in text.split() if len(word) > 1})
        if distinct > len(names):
            log.warning(
                "%s: %d distinct terms, kept the %d most frequent (text_max_terms)",
                *(label, distinct, len(names)),
            )
    return sp.csr_matrix(matrix, dtype=np.float32), names


def _cut(texts: Sequence[str], max_chars: int, label: str) -> list[str]:
    """Every text cut to ``max_chars`` characters; logs how many were cut."""
    long = [len(text) for text in texts if len(text) > max_chars]
    if long:
        log.warning(
            "%s: %d longer than %d characters cut to that length (longest %d; text_max_chars)",
            *(label, len(long), max_chars, max(long)),
        )
    return [text[:max_chars] for text in texts]
