"""GET ``/openapi.yaml``: the OpenAPI 3 description of this API; open, no data."""

from __future__ import annotations

from importlib import resources

import falcon

#: Where the document is served (left open like ``/``: it describes, it exposes nothing).
PATH = "/openapi.yaml"


class OpenApiResource:
    """Serves ``service/openapi.yaml``, read once."""

    def __init__(self) -> None:
        self._document: bytes | None = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._document is None:
            self._document = resources.files("service").joinpath("openapi.yaml").read_bytes()
        resp.content_type = "application/yaml"
        resp.data = self._document
