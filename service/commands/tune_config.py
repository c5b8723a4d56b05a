"""Helpers of ``mlservice tune``: the progress bar over a study, and saving the chosen settings."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlcore.config import Settings, load_settings
from mlcore.interfaces import TuningReport
from mlcore.options import build_options
from mlcore.registry import Registry

#: Options that only concern the tuning run itself, never saved.
RUN_ONLY_OPTIONS = frozenset({"study_storage", "study_dir"})


def _finished_trials(folder: Path, after_study: int) -> tuple[int, int] | None:
    """(newest study id, its finished trials) from Optuna SQLite files in ``folder``."""
    best: tuple[int, int] | None = None
    for path in folder.glob("*.sqlite3"):
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2) as db:
                row = db.execute(
                    "SELECT s.study_id, COUNT(t.trial_id) FROM studies s LEFT JOIN trials t "
                    "ON t.study_id = s.study_id AND t.state IN ('COMPLETE', 'PRUNED', 'FAIL') "
                    "WHERE s.study_id = (SELECT MAX(study_id) FROM studies) GROUP BY s.study_id"
                ).fetchone()
        except sqlite3.Error:
            continue
        if row and row[0] > after_study:
            best = (int(row[0]), int(row[1]))
    return best


@contextmanager
def study_progress(folder: Path, trials: int, timeout: float, *, disabled: bool) -> Iterator[None]:
    """A tqdm bar of finished trials, read from the study's SQLite file while tuning runs.

    Backends that keep no study file show the elapsed time against ``timeout`` only.
    """
    from tqdm import tqdm  # noqa: PLC0415

    start = _finished_trials(folder, -1)
    after = start[0] if start else -1
    stop = threading.Event()
    started = time.monotonic()
    bar = tqdm(total=max(trials, 1), unit="trial", disable=disabled)

    def poll() -> None:
        while not stop.wait(1.0):
            found = _finished_trials(folder, after)
            if found is not None and found[1] != bar.n:
                bar.update(min(found[1], bar.total) - bar.n)
            bar.set_postfix_str(f"{time.monotonic() - started:.0f}/{timeout:.0f} s", refresh=True)

    thread = threading.Thread(target=poll, name="tune-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        found = _finished_trials(folder, after)
        if found is not None:
            bar.update(min(found[1], bar.total) - bar.n)
        bar.close()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def chosen_options(settings: Settings, report: TuningReport, registry: Registry) -> dict[str, Any]:
    """The recommender options to save: the run's options plus the best trial's values."""
    record = registry.get("recommender", settings.recommender)
    fields = {f.name for f in dataclasses.fields(record.options_type)}
    options = {k: v for k, v in settings.recommender_options.items() if k not in RUN_ONLY_OPTIONS}
    options.update({k: v for k, v in report.best_params.items() if k in fields})
    return options


def save_config(path: Path, settings: Settings, report: TuningReport, registry: Registry) -> Path:
    """Write the chosen settings as a TOML ``ML_CONFIG_FILE`` and check that it loads.

    ``ML_TUNING_TRIALS = 0`` makes the trainer use exactly these settings; raise it to
    keep tuning at every run, starting from them.

    Raises:
        ConfigError: The written file does not load or the options are invalid.
    """
    options = chosen_options(settings, report, registry)
    lines = [
        f"# Chosen by `mlservice tune` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
        f"validation {report.metric} = {report.best_score:.4f} "
        f"({len(report.trials)} trials).",
        "# Use with ML_CONFIG_FILE=<this file>. ML_TUNING_TRIALS = 0 trains with exactly these",
        "# settings; set it above 0 to keep tuning at every run, starting from them.",
        f"ML_RECOMMENDER = {_toml_value(settings.recommender)}",
        f"ML_RECOMMENDATION_ALGORITHM = {_toml_value(settings.algorithm)}",
        "ML_TUNING_TRIALS = 0",
        f"ML_RECOMMENDER_OPTIONS = {_toml_value(options)}",
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_settings({"ML_CONFIG_FILE": str(path)})
    record = registry.get("recommender", loaded.recommender)
    build_options(record.options_type, loaded.recommender_options, context=str(path))
    return path
