"""GET ``/health-check`` (contract §4.5): always HTTP 200 once authenticated."""

from __future__ import annotations

import json

import falcon

from service.health import HealthCheck
from service.model_holder import ModelHolder


class HealthCheckResource:
    """Connectivity to Totara and the state of the served models.

    Args:
        holder: The worker's models.
        check: Runs the steps.
    """

    def __init__(self, holder: ModelHolder, check: HealthCheck) -> None:
        self._holder = holder
        self._check = check

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = json.dumps(self._check.run(self._holder.models()))
