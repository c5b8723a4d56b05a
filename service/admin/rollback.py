"""``POST /rollback?tenant=T[&version=V]``: make the previous (or given) kept version current."""

from __future__ import annotations

import logging

import falcon

from mlcore.errors import MLCoreError
from mlcore.interfaces import ModelStore
from service.admin.answers import answer, form_fields
from service.admin.csrf import FIELD, CsrfTokens, check_post
from service.model_versions import roll_back

log = logging.getLogger(__name__)


class RollbackResource:
    """Rolls a tenant back through the model store; workers reload within seconds.

    Args:
        store: The model store.
        tokens: Dashboard form tokens.
    """

    def __init__(self, store: ModelStore, tokens: CsrfTokens) -> None:
        self._store = store
        self._tokens = tokens

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = form_fields(req)
        check_post(req, form.get(FIELD), self._tokens)
        tenant = form.get("tenant") or req.get_param("tenant")
        if not tenant:
            raise falcon.HTTPBadRequest(description="tenant is required")
        version = form.get("version") or req.get_param("version") or None
        try:
            previous, current = roll_back(self._store, tenant, version)
        except MLCoreError as exc:
            answer(req, resp, falcon.HTTP_409, "rollback-failed", {"error": str(exc)})
            return
        log.warning(
            "tenant %s rolled back from %s to %s (admin)",
            tenant,
            previous,
            current,
            extra={"event": "rollback", "tenant": tenant},
        )
        body = {"tenant": tenant, "version": current, "previous": previous}
        answer(req, resp, falcon.HTTP_200, "rollback-done", body)
