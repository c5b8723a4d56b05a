"""The checks and envelopes shared by ``/user-items`` and ``/similar-items`` (contract §4.3, §4.4).

Contract failures keep Totara's envelope (HTTP 200, ``success: false``); malformed
``n_items`` is a 400 with ``{"error": ...}`` (§13.6).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import falcon

from mlcore.serving.tenant_model import Recommendation, TenantModel
from service.score_format import item_pairs

NOT_READY = "The recommender model is not ready yet"
NO_TENANT = "Bad request: no such tenant"
NOT_TRAINED = "Message: The model for tenant {} is not trained, probably for insufficient data"
NO_USER = "Bad request: no such user id"
NO_ITEM_TYPE = "Bad request: no such item type is available"
NO_ITEM = "Bad request: no such item id"
BAD_N_ITEMS = "n_items must be a non-negative integer"
TOO_MANY = "n_items must be at most {} (ML_MAX_N_ITEMS)"

_DIGITS = re.compile(r"[0-9]+")


class ContractFailure(Exception):
    """A step of §4.3/§4.4 failed; answered as Totara's 200 failure envelope."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadParameter(Exception):
    """A malformed parameter; answered 400 ``{"error": message}``."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_n_items(text: str | None, maximum: int) -> int:
    """``n_items`` as an int in ``[0, maximum]`` (step 0, parsed before anything else).

    Raises:
        BadParameter: Missing, not plain decimal digits, or above ``maximum``.
    """
    if text is None or not _DIGITS.fullmatch(text):
        raise BadParameter(BAD_N_ITEMS)
    # Compare the length first: int() refuses strings of more than 4,300 digits.
    if len(text.lstrip("0")) > 18 or int(text) > maximum:
        raise BadParameter(TOO_MANY.format(maximum))
    return int(text)


def trained_tenant(models: Mapping[str, TenantModel], tenant: str | None) -> TenantModel:
    """Steps 1-3: a model is loaded, the tenant is known, and it was trained.

    Raises:
        ContractFailure: With the exact message of the first failing step.
    """
    if not models:
        raise ContractFailure(NOT_READY)
    model = models.get(tenant) if tenant is not None else None
    if model is None:
        raise ContractFailure(NO_TENANT)
    if not model.trained:
        raise ContractFailure(NOT_TRAINED.format(tenant))
    return model


def success(resp: falcon.Response, recommendations: list[Recommendation]) -> None:
    """``{"success": true, "items": [[id, score], ...]}``."""
    resp.text = json.dumps({"success": True, "items": item_pairs(recommendations)})


def handle_contract_failure(
    req: falcon.Request, resp: falcon.Response, exc: ContractFailure, params: object
) -> None:
    """``{"success": false, "message": ..., "items": []}`` with HTTP 200."""
    resp.status = falcon.HTTP_200
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps({"success": False, "message": exc.message, "items": []})


def handle_bad_parameter(
    req: falcon.Request, resp: falcon.Response, exc: BadParameter, params: object
) -> None:
    """HTTP 400 ``{"error": message}``."""
    resp.status = falcon.HTTP_400
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps({"error": exc.message})
