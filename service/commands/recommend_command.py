"""``mlservice recommend``: a tenant's recommendations for a user, or items similar to an item.

Reads the store's current version with :class:`mlcore.serving.tenant_model.TenantModel`, exactly
as the service answers ``/user-items`` and ``/similar-items`` (unknown users get the
popular fallback unless ``ML_UNKNOWN_USER=error``). For debugging and demos.
"""

from __future__ import annotations

import argparse

from mlcore.errors import MLCoreError, quoted
from mlcore.item_types import COMPONENTS, split_item_id, strip_prefix
from mlcore.serving.tenant_model import Recommendation, TenantModel
from service.commands.command_settings import add_models_dir, model_store, settings_from


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", default="0", help="tenant id (default 0)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--user", help="Totara user id: recommend items of --type")
    target.add_argument("--item", help="prefixed item id, e.g. engage_article12: similar items")
    parser.add_argument("--type", choices=COMPONENTS, help="item type (required with --user)")
    parser.add_argument("-n", type=int, default=10, help="number of items (default 10)")
    parser.add_argument(
        "--seen",
        choices=("exclude", "downrank"),
        help="what to do with the user's positive items (default: ML_SEEN_ITEMS)",
    )
    add_models_dir(parser)


def run(args: argparse.Namespace) -> int:
    if args.user is not None and args.type is None:
        print("mlservice recommend: error: --user needs --type (one of the item types)")
        return 2
    if args.n < 0:
        print("mlservice recommend: error: -n must be a non-negative integer")
        return 2
    settings = settings_from(args)
    store = model_store(args)
    model = TenantModel(store.load(args.tenant), store.current_version(args.tenant) or "")
    print(f"tenant {args.tenant}, model version {model.version}, algorithm {model.algorithm}")
    if not model.trained:
        print(f"This tenant has no trained model: {model.message}")
        return 1
    if args.item is not None:
        return _similar(model, args.item, args.n)
    row = model.user_row(args.user)
    if row is None:
        if settings.unknown_user == "error":
            raise MLCoreError(
                f"no such user id {quoted(args.user)} in tenant {quoted(args.tenant)}"
            )
        print(f"user {args.user} is unknown: most popular {args.type} items")
        _print(model.popular(args.type, args.n))
        return 0
    seen = args.seen or settings.seen_items
    print(f"{args.type} for user {args.user} (positive items: {seen}):")
    _print(model.recommend(row, args.type, args.n, seen=seen))
    return 0


def _similar(model: TenantModel, item_id: str, n: int) -> int:
    row = model.item_row(item_id)
    parts = split_item_id(item_id)
    if row is None and parts is not None and parts[0] == "engage_article":
        item_id = f"engage_microlearning{parts[1]}"  # Totara asks for articles (§4.4)
        row = model.item_row(item_id)
    if row is None:
        raise MLCoreError(f"no such item id {quoted(item_id)} in tenant {model.tenant}")
    print(f"items similar to {item_id}:")
    _print(model.similar(row, n))
    return 0


def _print(ranked: list[Recommendation]) -> None:
    if not ranked:
        print("  (no items)")
    for rank, item in enumerate(ranked, start=1):
        print(
            f"  {rank:>3}. {item.item_id:<28} id {strip_prefix(item.item_id):<8} {item.score: .4f}"
        )
