"""GET ``/similar-items`` (contract §4.4, §9.2, §13.14)."""

from __future__ import annotations

import falcon

from mlcore.config import Settings
from service.model_holder import ModelHolder
from service.resources.contract import (
    NO_ITEM,
    ContractFailure,
    parse_n_items,
    success,
    trained_tenant,
)


class SimilarItemsResource:
    """Items of the query item's family, by cosine of the item vectors.

    Args:
        holder: The worker's models.
        settings: ``max_n_items`` applies.
    """

    def __init__(self, holder: ModelHolder, settings: Settings) -> None:
        self._holder = holder
        self._settings = settings

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        n_items = parse_n_items(req.get_param("n_items"), self._settings.max_n_items)
        model = trained_tenant(self._holder.models(), req.get_param("tenant"))
        item_id = req.get_param("totara_item_id") or ""
        row = model.item_row(item_id)
        if row is None:
            # Totara always asks for engage_article<id>, even for microlearning.
            row = model.item_row(item_id.replace("article", "microlearning"))
        if row is None:
            raise ContractFailure(NO_ITEM)
        success(resp, model.similar(row, n_items))
