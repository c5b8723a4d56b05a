"""``create_admin_app``: the Falcon app of the admin listener."""

from __future__ import annotations

import falcon

from mlcore.config import Settings
from mlcore.interfaces import ModelStore
from service.admin.auth import AdminAuthMiddleware
from service.admin.csrf import CsrfTokens, shared_secret
from service.admin.dashboard import DashboardResource
from service.admin.metrics_resource import MetricsResource
from service.admin.report_files import ReportFileResource
from service.admin.retrain import RetrainResource
from service.admin.rollback import RollbackResource
from service.errors import handle_uncaught, serialize_http_error
from service.metrics.model_collector import ModelCollector
from service.model_holder import ModelHolder
from service.trainer_control import TrainerControl

#: Paths with their own label in the request metrics.
ENDPOINTS = frozenset({"/", "/metrics", "/retrain", "/rollback"})


def create_admin_app(
    settings: Settings,
    store: ModelStore,
    holder: ModelHolder,
    control: TrainerControl | None = None,
    tokens: CsrfTokens | None = None,
) -> falcon.App:
    """The admin WSGI app of one worker.

    Args:
        settings: ``ML_ADMIN_KEY``, logs and report folders apply.
        store: The model store (rollback, kept versions).
        holder: The worker's models (shared with the Totara app).
        control: The trainer's state and request files (default: in ``ML_LOGS_DIR``).
        tokens: Form tokens (default: signed with the master's shared secret).
    """
    control = control or TrainerControl(settings.logs_dir)
    tokens = tokens or CsrfTokens(shared_secret())
    app = falcon.App(middleware=[AdminAuthMiddleware(settings.admin_key)])
    app.add_route("/", DashboardResource(settings, holder.models, store, control, tokens))
    app.add_route("/metrics", MetricsResource(ModelCollector(holder.models, store)))
    app.add_route("/retrain", RetrainResource(control, tokens))
    app.add_route("/rollback", RollbackResource(store, tokens))
    app.add_route("/reports/{name}", ReportFileResource(settings.tuning_report_dir))
    app.add_error_handler(Exception, handle_uncaught)
    app.set_error_serializer(serialize_http_error)
    return app
