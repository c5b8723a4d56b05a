"""GET ``/user-items`` (contract §4.3, §9.1, §13.4, §13.5)."""

from __future__ import annotations

import falcon

from mlcore.config import Settings
from mlcore.item_types import COMPONENT_INDEX
from service.model_holder import ModelHolder
from service.resources.contract import (
    NO_ITEM_TYPE,
    NO_USER,
    ContractFailure,
    parse_n_items,
    success,
    trained_tenant,
)


class UserItemsResource:
    """Recommendations of one item type for one user of one tenant.

    Args:
        holder: The worker's models.
        settings: ``max_n_items``, ``seen_items`` and ``unknown_user`` apply.
    """

    def __init__(self, holder: ModelHolder, settings: Settings) -> None:
        self._holder = holder
        self._settings = settings

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        settings = self._settings
        n_items = parse_n_items(req.get_param("n_items"), settings.max_n_items)
        model = trained_tenant(self._holder.models(), req.get_param("tenant"))
        user = model.user_row(req.get_param("totara_user_id") or "")
        if user is None and settings.unknown_user == "error":
            raise ContractFailure(NO_USER)
        item_type = req.get_param("item_type")
        if item_type not in COMPONENT_INDEX:
            raise ContractFailure(NO_ITEM_TYPE)
        if user is None:
            success(resp, model.popular(item_type, n_items))
        else:
            success(resp, model.recommend(user, item_type, n_items, seen=settings.seen_items))
