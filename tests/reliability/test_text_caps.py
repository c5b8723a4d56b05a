"""Text cannot make LightFM training explode (issue 14, item 6).

One 1.8 MB profile description of 200,000 unique words gave one user 200,000 TF-IDF
features and took a tenant's training from 29 s to 257 s. Each document is now cut
to ``text_max_chars`` characters before cleaning and the vocabulary to the
``text_max_terms`` most frequent terms (``text_min_df``: documents a term must appear
in), LightFM options with defaults that do not bind on ordinary text; when a cap
binds it is logged with the tenant.
"""

from __future__ import annotations

import logging
import random
import string
from dataclasses import replace

import pytest

from plugins.lightfm_recommender.features import build_features
from plugins.lightfm_recommender.options import LightFMOptions
from plugins.lightfm_recommender.text_features import TextLimits, tfidf_features
from tests.support.lightfm_fixtures import tiny_dataset

WORDS = 40_000


def _huge_description() -> str:
    rng = random.Random(14)
    return " ".join("".join(rng.choices(string.ascii_lowercase, k=8)) for _ in range(WORDS))


def test_one_huge_description_is_cut_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    dataset = tiny_dataset()
    texts = (_huge_description(), *dataset.user_texts[1:])
    huge = replace(dataset, user_texts=texts)
    limits = LightFMOptions().text_limits()
    assert limits == TextLimits(max_chars=20_000, max_terms=20_000, min_df=1)
    with caplog.at_level(logging.WARNING, logger="plugins.lightfm_recommender"):
        features = build_features(huge, "hybrid", normalize=False, text_limits=limits)
    row = features.users[0]
    # 20,000 characters hold at most 20,000 / 9 whole 8-letter words, plus the tiny vocabulary.
    assert features.counts["user_tfidf"] < 20_000 // 9 + 100  # 40,000+ before the fix
    assert row.nnz <= 20_000 // 9 + 2 + dataset.user_features[0].nnz + 1
    assert (
        f"tenant {dataset.tenant} user texts: 1 longer than 20000 characters cut to that "
        f"length (longest {len(texts[0])}; text_max_chars)"
    ) in caplog.text


def test_the_vocabulary_cap_keeps_the_most_frequent_terms_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    texts = [
        "common rare" + str(i).translate(str.maketrans("0123456789", "abcdefghij"))
        for i in range(30)
    ]
    texts += ["common frequent", "frequent common"]
    with caplog.at_level(logging.WARNING, logger="plugins.lightfm_recommender"):
        matrix, names = tfidf_features(
            texts, limits=TextLimits(max_chars=100, max_terms=2, min_df=1), label="tenant 7 items"
        )
    assert names == ("common", "frequent") and matrix.shape == (32, 2)
    assert "tenant 7 items: 32 distinct terms, kept the 2 most frequent (text_max_terms)" in (
        caplog.text
    )


def test_min_df_drops_terms_of_a_single_document() -> None:
    texts = ["alpha beta", "alpha gamma", "delta"]
    _, names = tfidf_features(texts, limits=TextLimits(min_df=2))
    assert names == ("alpha",)


def test_defaults_do_not_bind_on_ordinary_text(caplog: pytest.LogCaptureFixture) -> None:
    dataset = tiny_dataset()
    with caplog.at_level(logging.WARNING, logger="plugins.lightfm_recommender"):
        capped = build_features(dataset, "hybrid", text_limits=LightFMOptions().text_limits())
        unlimited = build_features(
            dataset, "hybrid", text_limits=TextLimits(max_chars=10**9, max_terms=10**9)
        )
    assert dict(capped.counts) == dict(unlimited.counts)
    assert (capped.users != unlimited.users).nnz == 0
    assert caplog.text == ""
