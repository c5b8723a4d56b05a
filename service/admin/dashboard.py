"""``GET /`` on the admin listener: the status dashboard (server-rendered, no scripts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import falcon

from mlcore.config import Settings
from mlcore.interfaces import ModelStore
from mlcore.serving.tenant_model import TenantModel
from service.admin.answers import FLASH
from service.admin.csrf import CsrfTokens
from service.admin.render import render
from service.admin.status import gather
from service.trainer_control import TrainerControl


class DashboardResource:
    """Renders :func:`service.admin.status.gather` as HTML.

    Args:
        settings: Logs and report folders.
        models: The served tenant -> model mapping.
        store: The model store (kept versions).
        control: The trainer's state.
        tokens: Form tokens for the buttons.
    """

    def __init__(
        self,
        settings: Settings,
        models: Callable[[], Mapping[str, TenantModel]],
        store: ModelStore,
        control: TrainerControl,
        tokens: CsrfTokens,
    ) -> None:
        self._settings = settings
        self._models = models
        self._store = store
        self._control = control
        self._tokens = tokens

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        status = gather(
            self._models(),
            self._store,
            self._settings.train_log_path,
            self._control,
            self._settings.tuning_report_dir,
        )
        flash = FLASH.get(req.get_param("flash") or "", "")
        resp.content_type = falcon.MEDIA_HTML
        resp.cache_control = ["no-store"]
        resp.set_header("X-Frame-Options", "DENY")
        resp.set_header(
            "Content-Security-Policy",
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
        resp.text = render(status, self._tokens.issue(), flash)
