"""``mlservice train``: train every tenant of the data source into the model store, once.

Shows a progress bar over tenants (and the trainer's log lines), then one summary
row per tenant: message, published version, sizes, validation NDCG@10 of the model
and of the popularity baseline, and seconds. Exit status 1 when a tenant failed.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from mlcore.configured import configured_plugins
from mlcore.errors import MLCoreError
from mlcore.interfaces import DataSource, ModelStore
from mlcore.totara.export_files import tenant_list
from mlcore.training.baseline import BASELINE
from mlcore.training.outcome import TenantOutcome
from mlcore.training.selection import AUTO, DEFAULT_PRIMARY
from mlcore.training.trainer import Trainer
from service.commands.command_settings import add_models_dir, settings_from

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="export folder to train from (selects the export-folder source; default: ML_DATA_DIR "
        "or ML_TOTARA_URL)",
    )
    add_models_dir(parser)
    parser.add_argument("--recommender", help="recommender plugin (default: ML_RECOMMENDER)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    settings = settings_from(args)
    parts = configured_plugins(settings)
    source = parts.data_source()
    store = parts.model_store()
    # An unknown name fails before any work (``auto`` starts from the default plugin).
    parts.recommender(DEFAULT_PRIMARY if settings.recommender == AUTO else settings.recommender)
    log.info(
        "training with %s from %s into %s",
        settings.recommender,
        source.describe(),
        settings.models_dir,
    )
    executor = parts.executor()
    trainer = Trainer(settings, source, store, parts.recommender, executor=executor)
    with (
        tqdm(total=_tenant_count(source), unit="tenant", disable=args.quiet) as bar,
        logging_redirect_tqdm(),
    ):

        def progress(outcome: TenantOutcome) -> None:
            bar.set_postfix_str(f"tenant {outcome.tenant} done")
            bar.update(1)

        try:
            outcomes = trainer.run(progress)
        finally:
            executor.close()
    print(summary_table(outcomes, store))
    return 1 if any(outcome.failed for outcome in outcomes) else 0


def _tenant_count(source: DataSource) -> int | None:
    try:
        return len(tenant_list(source.read_file("tenants.csv")).tenants)
    except MLCoreError:
        return None  # the trainer reports it


def summary_table(outcomes: Sequence[TenantOutcome], store: ModelStore) -> str:
    """One line per tenant: tenant, version, sizes, NDCG@10 model / popularity, what serves
    (``promoted``: a backend, ``blend`` or ``popularity``), seconds, message; then one line
    per candidate trained: its validation NDCG@10, weight and CPU seconds, or why skipped."""
    header = (
        f"{'tenant':<8} {'version':<24} {'users':>7} {'items':>7} {'interactions':>12} "
        f"{'ndcg@10':>8} {BASELINE:>10} {'promoted':<10} {'seconds':>8}  message"
    )
    lines = [header]
    for outcome in outcomes:
        users, items, interactions = _sizes(store, outcome)
        validation = outcome.validation
        model = f"{validation.model.ndcg:.4f}" if validation else "-"
        baseline = f"{validation.baseline.ndcg:.4f}" if validation else "-"
        lines.append(
            f"{outcome.tenant:<8} {outcome.version or '-':<24} {users:>7} {items:>7} "
            f"{interactions:>12} {model:>8} {baseline:>10} "
            f"{outcome.promoted or '-':<10} {outcome.seconds:>8.1f}  {outcome.message}"
        )
        lines.extend(f"{'':<8} candidate {record.summary()}" for record in outcome.candidates)
    return "\n".join(lines)


def _sizes(store: ModelStore, outcome: TenantOutcome) -> tuple[str, str, str]:
    if outcome.version is None:
        return ("-", "-", "-")
    try:
        manifest = store.load(outcome.tenant, outcome.version).manifest
    except MLCoreError:
        return ("?", "?", "?")
    users, items, interactions = (
        str(manifest.get(key, "-")) for key in ("n_users", "n_items", "n_interactions")
    )
    return (users, items, interactions)
