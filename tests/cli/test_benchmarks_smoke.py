"""Smoke tests of the benchmark harness and ``mlservice tune`` on tiny data.

Benchmarks themselves never run in the test suite; these check that one tiny
benchmark runs end to end, that tuning never sees the test part, that the
original's annealing follows its description, and that the tuning report and the
saved configuration are usable. Nothing here asserts a speed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchmarks import datasets, quality, quality_tables
from benchmarks.original_method import COMPONENT_BOUNDS, EPOCH_BOUNDS, OriginalMethod, clean_text
from benchmarks.training_cost import growth_exponent
from mlcore.config import load_settings
from mlcore.demo.movielens import MovieLensMissingError, require_dir, topic_column
from mlcore.interfaces import ServingArrays, TuningReport
from mlcore.training.splits import temporal_split

TINY = "demo-tiny"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path_factory.getbasetemp() / "benchmark-cache"
    monkeypatch.setattr(datasets, "cache_dir", lambda: cache)


def test_one_tiny_quality_benchmark_end_to_end(tmp_path: Path) -> None:
    budget = quality.Budget(trials=2, timeout=20, threads=1, original_iterations=1)
    models = ["popularity", "lightfm-oob", "original-mf", "lightfm-mf"]
    results = quality.run(
        [TINY], budget, models=models, protocols=["temporal"], folder=tmp_path, progress=str
    )
    assert sorted(r["model"] for r in results) == sorted(models)
    for result in results:
        metrics = result["metrics"]
        for key in ("ndcg", "precision", "recall", "auc", "coverage"):
            assert 0.0 <= metrics[key] <= 1.0, (result["model"], key)
        assert metrics["users"] > 0
        assert (tmp_path / f"{TINY}__temporal__{result['model']}.json").is_file()
    tuned = next(r for r in results if r["model"] == "lightfm-mf")
    assert tuned["tuning"]["trials"] >= 1
    table = quality_tables.render(tmp_path)
    oob_row = next(line for line in table.splitlines() if line.startswith("| lightfm-oob |"))
    cells = [cell.strip() for cell in oob_row.split("|")]
    assert cells[7] == "1.00×"  # NDCG ÷ OOB of the reference itself
    assert "protocol temporal" in table


def test_the_service_and_library_defaults_under_the_positives_protocol(tmp_path: Path) -> None:
    budget = quality.Budget(trials=2, timeout=20, threads=1)
    models = ["ease-default", "als-default-32", "service-default"]
    results = quality.run(
        [TINY], budget, models=models, protocols=["positives"], folder=tmp_path, progress=str
    )
    assert sorted(r["model"] for r in results) == sorted(models)
    service = next(r for r in results if r["model"] == "service-default")
    assert service["describe"]["settings"]["blend"] == "auto"
    assert service["describe"]["selection"]["candidates"]
    table = quality_tables.render(tmp_path)
    assert "protocol positives" in table
    assert "service-default ÷ best untuned library default" in table


class _SpyRecommender:
    """Records what tune and fit receive; scores like popularity."""

    def __init__(self) -> None:
        self.calls: dict[str, object] = {}

    def tune(self, train, validation, *, trials, timeout, seed) -> TuningReport:
        self.calls["tune"] = (train, validation)
        return TuningReport(best_params={"x": 1}, best_score=0.5, metric="ndcg@10")

    def fit(self, dataset):
        self.calls["fit"] = dataset
        self.popularity = dataset.item_popularity()
        self.n_users = dataset.n_users
        return self

    def export(self) -> ServingArrays:
        return ServingArrays(
            "factors",
            np.zeros((self.n_users, 1), np.float32),
            np.zeros(self.n_users, np.float32),
            np.zeros((self.popularity.size, 1), np.float32),
            self.popularity,
        )

    def describe(self):
        return {"backend": "spy"}


def _pairs(dataset) -> set[tuple[int, int]]:
    return set(zip(dataset.user_index.tolist(), dataset.item_index.tolist(), strict=True))


def test_tuning_sees_only_the_training_part() -> None:
    split = datasets.split(TINY, "random")
    spy = _SpyRecommender()
    quality.run_model(quality.Candidate("spy", lambda: spy), split, quality.Budget(trials=1))
    tune_train, validation = spy.calls["tune"]
    test_pairs = _pairs(split.test)
    assert not (_pairs(tune_train) | _pairs(validation)) & test_pairs
    assert _pairs(tune_train) | _pairs(validation) == _pairs(split.train)
    # The validation part is each user's most recent training interactions.
    assert _pairs(validation) == _pairs(temporal_split(split.train).test)
    assert spy.calls["fit"] is split.train


def test_original_method_anneals_within_bounds_and_logs_improvements() -> None:
    split = datasets.split(TINY, "temporal")
    method = OriginalMethod(mode="hybrid", seed=3, num_threads=1, iterations=3)
    method.fit(split.train)
    points = method.log.points
    assert len(points) == 4  # the random start, then 3 iterations
    for point in points:
        assert EPOCH_BOUNDS[0] <= point["epochs"] <= EPOCH_BOUNDS[1]
        assert COMPONENT_BOUNDS[0] <= point["n_components"] <= COMPONENT_BOUNDS[1]
    assert method.log.scores == sorted(method.log.scores)
    assert max(p["auc"] for p in points) == pytest.approx(method.log.scores[-1], abs=1e-4)
    best = method.describe()["best"]
    assert (best["epochs"], best["n_components"]) == (
        method.log.epochs[-1],
        method.log.n_components[-1],
    )
    assert method.export().item_factors.shape[0] == split.train.n_items


def test_clean_text_follows_the_contract_steps() -> None:
    text = "Visit https://x.org now, mail a@b.c! Café 2024 THE best  movie"
    assert clean_text(text, frozenset({"the", "now"})) == "visit mail cafe best movie"


def test_growth_exponent_of_a_power_law() -> None:
    sizes = [1, 2, 4, 8]
    assert math.isclose(growth_exponent(sizes, [3 * s**1.5 for s in sizes]), 1.5, rel_tol=1e-9)


def test_movielens_absent_gives_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(MovieLensMissingError, match="ml-latest-small not found"):
        require_dir(tmp_path)
    assert topic_column("Sci-Fi") == "topic_scifi"
    assert topic_column("Film-Noir") == "topic_filmnoir"


def test_tune_command_writes_report_and_a_loadable_config(tmp_path: Path, monkeypatch) -> None:
    from mlcore.demo.export import DemoConfig, write_demo_export
    from service.cli import main

    for name in ("ML_CONFIG_FILE", "ML_RECOMMENDER", "ML_RECOMMENDER_OPTIONS"):
        monkeypatch.delenv(name, raising=False)
    export = tmp_path / "export"
    write_demo_export(
        export, DemoConfig(tenants=1, users=80, items=30, interactions=1500, now=10**9)
    )
    report_dir, config = tmp_path / "report", tmp_path / "chosen.toml"
    status = main(
        ["tune", "--data-dir", str(export), "--mode", "mf", "--trials", "2", "--timeout", "30",
         "--threads", "1", "--report-dir", str(report_dir), "--save-config", str(config),
         "--latency-requests", "50", "--quiet"]
    )  # fmt: skip
    assert status == 0
    summary = (report_dir / "summary.md").read_text(encoding="utf-8")
    for plot in ("score_vs_seconds.png", "latency_histogram.png"):
        assert (report_dir / plot).stat().st_size > 1000
        assert f"]({plot})" in summary
    assert "popularity" in summary and "## Trials" in summary
    settings = load_settings({"ML_CONFIG_FILE": str(config)})
    assert settings.recommender == "lightfm"
    assert settings.tuning_trials == 0
    options = settings.recommender_options
    assert options["mode"] == "mf"
    assert "study_dir" not in options
    assert isinstance(options["no_components"], int) and options["epochs"] >= 1
    json.dumps(options)
