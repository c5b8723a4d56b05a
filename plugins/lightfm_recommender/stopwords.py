"""Stop words for text cleaning (contract §8.5, step 8), available offline.

The contract's list is the union of all languages of NLTK's ``stopwords`` corpus.
NLTK itself is not a dependency and nothing is ever downloaded: the corpus is read
from disk when it is present in one of NLTK's usual data folders or in
``ML_MODELS_DIR`` (as ``corpora/stopwords/`` or ``corpora/stopwords.zip``).
Otherwise the union of every language of the ``stop-words`` package (BSD-3-Clause,
a PyPI dependency shipping its lists as data files) is used, so training works on a
machine that never had NLTK. The source used is reported by :func:`load_stop_words`.
"""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

#: Names in the corpus folder that are not word lists.
_NOT_LANGUAGES = frozenset({"README", "LICENSE"})
_CORPUS = Path("corpora") / "stopwords"


@dataclass(frozen=True)
class StopWords:
    """A stop-word set and where it came from (for the model manifest)."""

    words: frozenset[str]
    source: str


def nltk_data_dirs(models_dir: Path | None = None) -> list[Path]:
    """Folders searched for NLTK data, in NLTK's order, then ``models_dir``."""
    dirs = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    dirs.append(Path.home() / "nltk_data")
    prefix = Path(sys.prefix)
    dirs += [prefix / "nltk_data", prefix / "share" / "nltk_data", prefix / "lib" / "nltk_data"]
    dirs += [
        Path("/usr/share/nltk_data"),
        Path("/usr/local/share/nltk_data"),
        Path("/usr/lib/nltk_data"),
        Path("/usr/local/lib/nltk_data"),
    ]
    if models_dir is not None:
        dirs.append(Path(models_dir))
    return dirs


def load_stop_words(models_dir: Path | None = None) -> StopWords:
    """The union of all languages' stop words, lowercased.

    Args:
        models_dir: ``ML_MODELS_DIR``, searched after NLTK's usual folders.
    """
    return _load(None if models_dir is None else str(models_dir))


@lru_cache(maxsize=8)
def _load(models_dir: str | None) -> StopWords:
    for folder in nltk_data_dirs(None if models_dir is None else Path(models_dir)):
        words = read_nltk_corpus(folder)
        if words:
            return StopWords(words, f"nltk corpus in {folder}")
    return StopWords(packaged_stop_words(), "stop-words package")


def read_nltk_corpus(folder: Path) -> frozenset[str]:
    """The union of the word lists of ``<folder>/corpora/stopwords[.zip]``; empty if absent."""
    directory = folder / _CORPUS
    try:
        if directory.is_dir():
            texts = [
                path.read_text(encoding="utf-8")
                for path in sorted(directory.iterdir())
                if path.is_file() and _is_language(path.name)
            ]
            return _words(texts)
        archive = directory.with_suffix(".zip")
        if archive.is_file():
            return _words(_zip_texts(archive))
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile):
        return frozenset()
    return frozenset()


def packaged_stop_words() -> frozenset[str]:
    """The union of every language of the ``stop-words`` package."""
    import stop_words  # noqa: PLC0415 - loads its language table at import

    texts = ["\n".join(stop_words.get_stop_words(lang)) for lang in stop_words.AVAILABLE_LANGUAGES]
    return _words(texts)


def _zip_texts(archive: Path) -> Iterator[str]:
    with zipfile.ZipFile(archive) as bundle:
        for name in sorted(bundle.namelist()):
            parts = name.rstrip("/").split("/")
            if name.endswith("/") or len(parts) < 2 or not _is_language(parts[-1]):
                continue
            yield bundle.read(name).decode("utf-8")


def _is_language(name: str) -> bool:
    return not name.startswith(".") and name not in _NOT_LANGUAGES and "." not in name


def _words(texts: Iterable[str]) -> frozenset[str]:
    return frozenset(
        word.strip().lower() for text in texts for word in text.splitlines() if word.strip()
    )
