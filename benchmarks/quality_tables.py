"""Markdown tables of the quality results (one table per dataset and protocol).

Reads the JSON files written by :mod:`benchmarks.quality` and reports every model
beside the baselines of the same run, with NDCG@10 ratios against LightFM out of
the box and against the original's method.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import fmt, markdown_table, ratio

DATASET_ORDER = ("movielens", "demo-small", "demo-medium", "demo-large")
MODEL_ORDER = (
    "popularity",
    "lightfm-oob",
    "als-default-32",
    "als-default-64",
    "bpr-default",
    "ease-default",
    "original-mf",
    "original-hybrid",
)
#: Untuned library defaults: the service's default configuration is compared with the best.
LIBRARY_DEFAULTS = MODEL_ORDER[1:6]
SERVICE_MODELS = ("service-default", "service-auto")
ORIGINAL = "original-mf"
DEFAULT_MODEL = "lightfm-hybrid"
HEADER = (
    "model",
    "NDCG@10",
    "P@10",
    "R@10",
    "AUC",
    "coverage",
    "NDCG ÷ OOB",
    "NDCG ÷ original-mf",
    "tune s",
    "fit s",
    "chosen settings",
    "code",
)


def load(folder: Path) -> list[dict[str, Any]]:
    """Every result file of ``folder``."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))]


def _order(result: dict[str, Any]) -> tuple[int, str]:
    name = result["model"]
    return (MODEL_ORDER.index(name) if name in MODEL_ORDER else len(MODEL_ORDER), name)


def chosen_settings(result: dict[str, Any]) -> str:
    """A short description of the settings a model ended up with."""
    tuning = result.get("tuning")
    describe = result.get("describe") or {}
    if tuning:
        p = tuning["best_params"]
        keys = ("loss", "no_components", "epochs", "learning_rate", "factors", "iterations")
        keys += ("regularization", "alpha", "similarity", "neighbours")
        parts = [f"{k}={_short(p[k])}" for k in keys if k in p]
        return ", ".join(parts) + f" ({tuning['trials']} trials)"
    if describe.get("selection"):
        selection = describe["selection"]
        members = ", ".join(
            f"{m} {w:g}" for m, w in zip(selection["members"], selection["weights"], strict=True)
        )
        return f"serves {selection['serving']}: {members}"
    if describe.get("best"):
        best = describe["best"]
        return f"epochs={best['epochs']}, no_components={best['n_components']} (annealing)"
    if "no_components" in describe:
        return f"warp, no_components={describe['no_components']}, epochs={describe['epochs']}"
    return ""


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def table(results: list[dict[str, Any]]) -> str:
    """One Markdown table for the results of one dataset and protocol."""
    by_model = {r["model"]: r for r in results}
    oob = by_model.get("lightfm-oob", {}).get("metrics", {}).get("ndcg")
    original = by_model.get(ORIGINAL, {}).get("metrics", {}).get("ndcg")
    rows = []
    for result in sorted(results, key=_order):
        m = result["metrics"]
        rows.append(
            [
                result["model"],
                m["ndcg"],
                m["precision"],
                m["recall"],
                m["auc"],
                m["coverage"],
                _times(ratio(m["ndcg"], oob)),
                _times(ratio(m["ndcg"], original)),
                f"{result['tune_seconds']:.1f}",
                f"{result['fit_seconds']:.1f}",
                chosen_settings(result),
                str(result.get("code", "unknown")).split(" ")[0],
            ]
        )
    return markdown_table(HEADER, rows)


def render(folder: Path) -> str:
    """All tables, grouped by dataset then protocol, with their context lines."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for result in load(folder):
        groups[(result["dataset"], result["protocol"])].append(result)
    order = {name: i for i, name in enumerate(DATASET_ORDER)}
    parts = []
    for (dataset, protocol), results in sorted(
        groups.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][0], kv[0][1])
    ):
        first = results[0]
        budgets = sorted(
            {(r["budget"]["trials"], r["budget"]["timeout"]) for r in results if r.get("tuning")}
        )
        budget_text = " and ".join(f"{t} trials / {s:.0f} s" for t, s in budgets) or "none"
        threads = sorted({r["budget"]["threads"] for r in results})
        loads = [r["load_average"] for r in results if "load_average" in r]
        load_text = (
            f"; 1-min load average at the end of each model {min(loads)}–{max(loads)}"
            if loads
            else ""
        )
        codes = "; ".join(sorted({str(r.get("code", "unknown")) for r in results}))
        users = first["metrics"]["users"]
        parts.append(
            f"#### {dataset}, protocol {protocol}\n\n"
            f"Data: {first['dataset_description']}. Protocol: {first['protocol_description']}; "
            f"{users} test users, full ranking, training items excluded. Tuning budget per "
            f"model: {budget_text} (whichever ends first) on a temporal validation split of the "
            f"training part; {'/'.join(map(str, threads))} training thread(s), seed "
            f"{first['budget']['seed']}. Machine: {first['machine']}{load_text}. "
            f"Code: {codes}.\n\n" + table(results) + "\n\n" + _verdict(results)
        )
    return "\n\n".join(parts) + "\n"


def _verdict(results: list[dict[str, Any]]) -> str:
    by_model = {r["model"]: r["metrics"]["ndcg"] for r in results}
    return " ".join(
        part for part in (_service_verdict(by_model), _lightfm_verdict(by_model)) if part
    )


def _service_verdict(by_model: dict[str, float]) -> str:
    """The service's configurations against the best untuned library default of the run."""
    defaults = {name: by_model[name] for name in LIBRARY_DEFAULTS if name in by_model}
    if not defaults:
        return ""
    best = max(defaults, key=lambda name: defaults[name])
    lines = [
        f"**{name} ÷ best untuned library default ({best}, {defaults[best]:.4f}): "
        f"{ratio(by_model[name], defaults[best]):.3f}×**"
        for name in SERVICE_MODELS
        if name in by_model
    ]
    return "; ".join(lines) + "." if lines else ""


def _lightfm_verdict(by_model: dict[str, float]) -> str:
    ours = by_model.get(DEFAULT_MODEL)
    if ours is None:
        return ""
    lines = []
    for name, label in (
        ("lightfm-oob", "LightFM out of the box"),
        (ORIGINAL, "the original's method (mf)"),
    ):
        reference = by_model.get(name)
        change = ratio(ours, reference)
        if change is not None:
            lines.append(f"{DEFAULT_MODEL} vs {label}: {fmt((change - 1) * 100, 1)}% NDCG@10")
    return "; ".join(lines) + "." if lines else ""
