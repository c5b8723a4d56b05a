"""GET ``/`` (a short identification, no data) and GET ``/favicon.ico`` (contract §4.6)."""

from __future__ import annotations

import json
from importlib import resources

import falcon

from mlcore import __version__

NAME = "mlservice"


class HomeResource:
    """Name, version and endpoints of the service; open without a token."""

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = json.dumps(
            {
                "service": NAME,
                "description": "Recommender service for learning platforms "
                "(drop-in for Totara's Machine Learning Service)",
                "version": __version__,
                "endpoints": ["/user-items", "/similar-items", "/health-check"],
            }
        )


class FaviconResource:
    """The icon file, read once from ``service/static/favicon.ico``."""

    def __init__(self) -> None:
        self._icon: bytes | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._icon is None:
            self._icon = resources.files("service").joinpath("static/favicon.ico").read_bytes()
        resp.content_type = "image/x-icon"
        resp.cache_control = ["public", "max-age=86400"]
        resp.data = self._icon
