"""§8.5 text cleaning, TF-IDF and the offline stop-word lists."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugins.lightfm_recommender.stopwords import (
    load_stop_words,
    nltk_data_dirs,
    packaged_stop_words,
    read_nltk_corpus,
)
from plugins.lightfm_recommender.text_features import clean_text, tfidf_features

STOP = frozenset({"the", "and", "et", "la"})


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("See https://totara.com/x?y=1 now", "see now"),
        ("mail me at a.b@example.com or @handle", "mail me at or"),
        ("Café Zürich naïve façade", "cafe zurich naive facade"),
        ("C++, Python! and   R.", "c python r"),
        ("Room 101 in 2024 (B4)", "room in b"),
        ("The cat and LA maison", "cat maison"),
        ("東京 Tokyo", "tokyo"),
        ("snake_case stays", "snake_case stays"),
        ("", ""),
    ],
)
def test_cleaning_examples(raw: str, cleaned: str) -> None:
    assert clean_text(raw, STOP) == cleaned


def test_url_removed_before_punctuation() -> None:
    # Contract order: URLs go first, so the pieces of a URL never become words.
    assert clean_text("http://a-b.com/path words") == "words"
    # ... and a word that only becomes "http..." after cleaning is kept.
    assert clean_text("h-ttpfoo") == "httpfoo"


@given(st.text())
def test_cleaned_text_is_lowercase_ascii_words(text: str) -> None:
    cleaned = clean_text(text, STOP)
    assert re.fullmatch(r"([a-z_]+( [a-z_]+)*)?", cleaned), cleaned
    assert not set(cleaned.split()) & STOP


@given(st.text())
def test_cleaning_is_idempotent(text: str) -> None:
    cleaned = clean_text(text, STOP)
    if "http" not in cleaned:  # see test_url_removed_before_punctuation
        assert clean_text(cleaned, STOP) == cleaned


def test_tfidf_is_sklearn_default_on_cleaned_text() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["Python & data, 2024!", "Cooking: the kitchen", "python cooking", ""]
    matrix, names = tfidf_features(texts, STOP)
    expected = TfidfVectorizer().fit([clean_text(t, STOP) for t in texts])
    assert names == tuple(expected.get_feature_names_out())
    assert matrix.dtype == np.float32 and matrix.shape == (4, len(names))
    np.testing.assert_allclose(
        matrix.toarray(), expected.transform([clean_text(t, STOP) for t in texts]).toarray(), 1e-6
    )
    norms = np.linalg.norm(matrix.toarray(), axis=1)
    np.testing.assert_allclose(norms, [1, 1, 1, 0], atol=1e-6)
    assert "the" not in names


def test_tfidf_without_any_word_has_no_columns() -> None:
    matrix, names = tfidf_features(["", "123 !!", "the"], STOP)
    assert matrix.shape == (3, 0) and names == ()


def _corpus(folder: Path) -> Path:
    corpus = folder / "corpora" / "stopwords"
    corpus.mkdir(parents=True)
    (corpus / "english").write_text("The\nand\n", encoding="utf-8")
    (corpus / "french").write_text("et\nla\n", encoding="utf-8")
    (corpus / "README").write_text("not words\n", encoding="utf-8")
    return corpus


def test_nltk_corpus_read_from_folder_and_zip(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "plain")
    assert read_nltk_corpus(tmp_path / "plain") == {"the", "and", "et", "la"}
    zipped = tmp_path / "zipped" / "corpora"
    zipped.mkdir(parents=True)
    with zipfile.ZipFile(zipped / "stopwords.zip", "w") as bundle:
        for path in corpus.iterdir():
            bundle.write(path, f"stopwords/{path.name}")
    assert read_nltk_corpus(tmp_path / "zipped") == {"the", "and", "et", "la"}
    assert read_nltk_corpus(tmp_path / "missing") == frozenset()


def test_search_order_is_nltk_then_models_dir(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "env"))
    dirs = nltk_data_dirs(tmp_path / "models")
    assert dirs[0] == tmp_path / "env" and dirs[-1] == tmp_path / "models"
    assert Path("/usr/share/nltk_data") in dirs
    _corpus(tmp_path / "env")
    found = load_stop_words(tmp_path / "models")
    assert found.words == {"the", "and", "et", "la"}
    assert str(tmp_path / "env") in found.source


def test_packaged_lists_cover_many_languages_offline() -> None:
    words = packaged_stop_words()
    assert {"the", "and", "und", "les", "della", "och", "que"} <= words
    assert all(w == w.lower() and w == w.strip() for w in words)
