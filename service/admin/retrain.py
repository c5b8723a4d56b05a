"""``POST /retrain[?tenant=T]``: the trainer runs now; one at a time (409 while running)."""

from __future__ import annotations

import re

import falcon

from service.admin.answers import answer, form_fields
from service.admin.csrf import FIELD, CsrfTokens, check_post
from service.metrics import recorders
from service.trainer_control import RequestResult, TrainerControl

_TENANT = re.compile(r"[A-Za-z0-9_-]{1,64}")

STATUS = {
    RequestResult.ACCEPTED: falcon.HTTP_202,
    RequestResult.RUNNING: falcon.HTTP_409,
    RequestResult.UNAVAILABLE: falcon.HTTP_503,
}
MESSAGE = {
    RequestResult.ACCEPTED: "training requested; it starts within seconds",
    RequestResult.RUNNING: "a training run is already going or requested; try again when it ends",
    RequestResult.UNAVAILABLE: "no trainer is running (mlservice serve --no-trainer or "
    "FLASK_ENV=Testing); nothing can be retrained",
}


class RetrainResource:
    """Asks the scheduler (:class:`TrainerControl`) for a run.

    Args:
        control: The trainer's state and request files.
        tokens: Dashboard form tokens.
    """

    def __init__(self, control: TrainerControl, tokens: CsrfTokens) -> None:
        self._control = control
        self._tokens = tokens

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        form = form_fields(req)
        check_post(req, form.get(FIELD), self._tokens)
        tenant = form.get("tenant") or req.get_param("tenant") or None
        if tenant is not None and not _TENANT.fullmatch(tenant):
            raise falcon.HTTPBadRequest(description="tenant must be a tenant id")
        result = self._control.request_run(tenant)
        recorders.retrain_request(result.value)
        body = {"status": result.value, "tenant": tenant, "message": MESSAGE[result]}
        answer(req, resp, STATUS[result], f"retrain-{result.value}", body)
