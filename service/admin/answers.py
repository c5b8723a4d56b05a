"""How admin POSTs answer: a redirect back to the dashboard for its forms, JSON otherwise."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import falcon

FORM = "application/x-www-form-urlencoded"

#: Flash codes the dashboard turns into fixed sentences (no request text is reflected).
FLASH = {
    "retrain-accepted": "Training requested: it starts within seconds.",
    "retrain-running": "A training run is already going or requested: try again when it ends.",
    "retrain-unavailable": "No trainer is running, so nothing can be retrained.",
    "rollback-done": "Rolled back: workers serve the previous version within seconds.",
    "rollback-failed": "Nothing to roll back to.",
}


def form_fields(req: falcon.Request) -> dict[str, str]:
    """The urlencoded form of a POST, empty for other bodies."""
    if (req.content_type or "").split(";")[0].strip() != FORM:
        return {}
    media = req.get_media(default_when_empty={})
    return {str(k): str(v) for k, v in media.items()} if isinstance(media, dict) else {}


def answer(
    req: falcon.Request, resp: falcon.Response, status: str, flash: str, body: dict[str, Any]
) -> None:
    """303 to ``/?flash=<code>`` for a dashboard form, else ``status`` with ``body`` as JSON."""
    if (req.content_type or "").split(";")[0].strip() == FORM:
        resp.status = falcon.HTTP_303
        resp.location = "/?" + urlencode({"flash": flash})
        return
    resp.status = status
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps(body)
