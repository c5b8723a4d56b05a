"""Text cleaning and TF-IDF features (contract §8.5), for any backend.

Cleaning, in the contract's order: remove URLs (``http\\S+``), remove tokens
containing ``@``, Unicode NFKD and drop non-ASCII, remove punctuation
(``[^\\w\\s]``), remove digits, collapse spaces, lowercase, remove stop words.
Then scikit-learn's :class:`~sklearn.feature_extraction.text.TfidfVectorizer`
with its default settings and float32 output, fitted per tenant and per side.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence

import numpy as np
import scipy.sparse as sp

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


def tfidf_features(
    texts: Sequence[str], stop_words: Collection[str] = frozenset()
) -> tuple[sp.csr_matrix, tuple[str, ...]]:
    """TF-IDF of the cleaned ``texts``: a (len(texts), V) float32 CSR and the V terms.

    When no document has a token (e.g. every text empty), the matrix has no columns.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

    cleaned = [clean_text(text, stop_words) for text in texts]
    vectorizer = TfidfVectorizer(dtype=np.float32)
    try:
        matrix = vectorizer.fit_transform(cleaned)
    except ValueError:  # empty vocabulary
        return sp.csr_matrix((len(cleaned), 0), dtype=np.float32), ()
    names = tuple(str(name) for name in vectorizer.get_feature_names_out())
    return sp.csr_matrix(matrix, dtype=np.float32), names
