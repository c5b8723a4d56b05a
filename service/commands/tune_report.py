"""A tuning report folder: a Markdown summary plus PNG plots of a hyperparameter search.

Plots (matplotlib with the non-interactive Agg backend, imported only when writing):

* ``score_vs_<parameter>.png``: the validation metric of every trial against each
  hyperparameter (log axis for rates and penalties, categories for e.g. ``loss``);
* ``score_vs_seconds.png``: metric against each trial's training time;
* ``latency_histogram.png``: per-request compute time of the chosen model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlcore.interfaces import TuningReport

log = logging.getLogger(__name__)

PLOTS_HINT = "install matplotlib for them: pip install 'mlservice[bench]'"

#: Parameters drawn on a logarithmic axis.
LOG_SCALE = frozenset({"learning_rate", "item_alpha", "user_alpha", "regularization", "alpha"})


def trial_table(report: TuningReport, limit: int | None = None) -> list[list[Any]]:
    """Rows ``[number, state, score, best epoch, epochs run, seconds, params...]``."""
    names = parameter_names(report)
    rows = []
    for trial in report.trials[:limit]:
        params = trial.get("params", {})
        rows.append(
            [
                trial.get("number"),
                trial.get("state"),
                trial.get("score"),
                trial.get("best_epoch"),
                trial.get("epochs_run"),
                trial.get("seconds"),
                *(params.get(name) for name in names),
            ]
        )
    return rows


def parameter_names(report: TuningReport) -> list[str]:
    """The searched parameters (those that vary across trials), in first-seen order."""
    seen: dict[str, set[str]] = {}
    for trial in report.trials:
        for name, value in trial.get("params", {}).items():
            seen.setdefault(name, set()).add(repr(value))
    return [name for name, values in seen.items() if len(values) > 1]


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_summary(latencies_ms: np.ndarray) -> dict[str, float]:
    """Mean, p50, p90, p99 and max of per-request milliseconds."""
    values = np.asarray(latencies_ms, dtype=float)
    p50, p90, p99 = np.percentile(values, [50, 90, 99])
    return {
        "requests": float(values.size),
        "mean_ms": float(values.mean()),
        "p50_ms": float(p50),
        "p90_ms": float(p90),
        "p99_ms": float(p99),
        "max_ms": float(values.max()),
    }


def write_report(
    folder: Path,
    report: TuningReport,
    *,
    title: str,
    context: Mapping[str, str],
    metrics: Mapping[str, Mapping[str, Any]],
    latencies_ms: np.ndarray | None = None,
) -> Path:
    """Write ``summary.md`` and the plots into ``folder``; return the summary's path.

    Args:
        folder: Created if needed; existing plots of the same names are replaced.
        report: The search's trials and best configuration.
        title: First heading of the summary.
        context: Lines such as dataset, protocol, budget, machine, command.
        metrics: Full validation metrics by model name (e.g. tuned model, popularity).
        latencies_ms: Per-request compute times of the chosen model, if measured.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        plots = _plots(folder, report, latencies_ms)
    except ImportError:
        log.warning("matplotlib is not installed: %s has no plots (%s)", folder, PLOTS_HINT)
        plots = []
    lines = [f"# {title}", ""]
    lines += [f"- **{key}**: {value}" for key, value in context.items()]
    lines += ["", "## Chosen settings", "", f"Best validation {report.metric}: "]
    lines[-1] += f"{report.best_score:.4f}"
    lines += ["", "```", *(f"{k} = {v!r}" for k, v in report.best_params.items()), "```", ""]
    if metrics:
        keys = ("ndcg", "precision", "recall", "auc", "coverage")
        rows = [[name, *(m.get(key) for key in keys)] for name, m in metrics.items()]
        columns = ("model", "NDCG@10", "P@10", "R@10", "AUC", "coverage")
        lines += ["## Validation metrics (full ranking)", "", markdown_table(columns, rows), ""]
    if latencies_ms is not None and latencies_ms.size:
        summary = latency_summary(latencies_ms)
        lines += ["## Per-request compute of the chosen model (wall clock)", ""]
        lines += [", ".join(f"{k} {v:.4g}" for k, v in summary.items()), ""]
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    if not plots:
        lines += [f"No plots: {PLOTS_HINT}.", ""]
    header = ["#", "state", report.metric, "best epoch", "epochs run", "seconds"]
    header += parameter_names(report)
    lines += ["## Trials", "", markdown_table(header, trial_table(report)), ""]
    path = folder / "summary.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _plots(folder: Path, report: TuningReport, latencies_ms: np.ndarray | None) -> list[Path]:
    import matplotlib  # noqa: PLC0415 - optional heavy import, only when writing a report

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    scored = [t for t in report.trials if t.get("score") is not None]
    scores = np.array([float(t["score"]) for t in scored])
    pruned = np.array([t.get("state") != "complete" for t in scored], dtype=bool)
    paths = []
    for name in parameter_names(report):
        values = [t.get("params", {}).get(name) for t in scored]
        figure, axis = plt.subplots(figsize=(4.5, 3.2), dpi=80)
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numeric:
            x = np.array(values, dtype=float)
        else:
            labels = sorted({str(v) for v in values})
            x = np.array([labels.index(str(v)) for v in values], dtype=float)
            axis.set_xticks(range(len(labels)), labels)
        _scatter(axis, x, scores, pruned)
        if numeric and name in LOG_SCALE:
            axis.set_xscale("log")
        paths.append(_save(figure, axis, folder / f"score_vs_{name}.png", name, report.metric))
    seconds = np.array([float(t.get("seconds") or 0.0) for t in scored])
    figure, axis = plt.subplots(figsize=(4.5, 3.2), dpi=80)
    _scatter(axis, seconds, scores, pruned)
    paths.append(
        _save(figure, axis, folder / "score_vs_seconds.png", "trial seconds", report.metric)
    )
    if latencies_ms is not None and latencies_ms.size:
        figure, axis = plt.subplots(figsize=(4.5, 3.2), dpi=80)
        axis.hist(latencies_ms, bins=40, color="tab:blue")
        axis.set_yscale("log")
        paths.append(
            _save(figure, axis, folder / "latency_histogram.png", "milliseconds", "requests")
        )
    plt.close("all")
    return paths


def _scatter(axis: Any, x: np.ndarray, y: np.ndarray, pruned: np.ndarray) -> None:
    axis.scatter(x[~pruned], y[~pruned], s=18, label="complete")
    if pruned.any():
        axis.scatter(x[pruned], y[pruned], s=18, marker="x", label="stopped early")
    axis.legend(fontsize=7)


def _save(figure: Any, axis: Any, path: Path, xlabel: str, ylabel: str) -> Path:
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    return path
