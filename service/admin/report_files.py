"""``GET /reports/{name}``: a plot or the summary of the latest tuning report."""

from __future__ import annotations

import re
from pathlib import Path

import falcon

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,120}\.(png|md)")
TYPES = {"png": "image/png", "md": "text/markdown; charset=utf-8"}


class ReportFileResource:
    """Serves files of ``ML_TUNING_REPORT_DIR`` by plain name only (no paths).

    Args:
        folder: The report folder.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = Path(folder)

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        match = _NAME.fullmatch(name)
        if match is None or name.startswith("."):
            raise falcon.HTTPNotFound()
        try:
            resp.data = (self._folder / name).read_bytes()
        except OSError:
            raise falcon.HTTPNotFound() from None
        resp.content_type = TYPES[match.group(1)]
