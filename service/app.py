"""``create_app``: the Falcon application serving Totara's API (contract §4)."""

from __future__ import annotations

import time
from collections.abc import Callable

import falcon
import requests

from mlcore.config import Settings
from mlcore.interfaces import ModelStore
from service.auth import TokenAuthMiddleware
from service.errors import handle_uncaught, serialize_http_error
from service.health import HealthCheck
from service.model_holder import ModelHolder
from service.request_limits import RequestLimitsMiddleware
from service.resources.contract import (
    BadParameter,
    ContractFailure,
    handle_bad_parameter,
    handle_contract_failure,
)
from service.resources.health_check import HealthCheckResource
from service.resources.home import FaviconResource, HomeResource
from service.resources.interactions import PATH as INTERACTIONS_PATH
from service.resources.interactions import InteractionsResource
from service.resources.openapi_document import PATH as OPENAPI_PATH
from service.resources.openapi_document import OpenApiResource
from service.resources.similar_items import SimilarItemsResource
from service.resources.user_items import UserItemsResource


def create_app(
    settings: Settings,
    store: ModelStore,
    clock: Callable[[], float] = time.time,
    holder: ModelHolder | None = None,
    health: HealthCheck | None = None,
) -> falcon.App:
    """The WSGI app for one worker.

    Args:
        settings: Service settings; ``effective_key`` authenticates requests.
        store: Where the published models are read from.
        clock: Unix time for token checks (injectable for tests).
        holder: The worker's models (default: a :class:`ModelHolder` over ``store``
            checking every ``ML_RELOAD_INTERVAL`` seconds).
        health: The health-check steps (default: real DNS and HTTP).
    """
    holder = holder or ModelHolder(store, interval=settings.reload_interval)
    health = health or HealthCheck(settings, requests.Session())
    body_limits = {INTERACTIONS_PATH: settings.event_max_bytes} if settings.event_intake else {}
    app = falcon.App(
        middleware=[
            RequestLimitsMiddleware(body_limits=body_limits),
            TokenAuthMiddleware(settings.effective_key, clock),
        ]
    )
    app.req_options.keep_blank_qs_values = True
    app.req_options.strip_url_path_trailing_slash = False
    app.add_route("/", HomeResource())
    app.add_route("/favicon.ico", FaviconResource())
    app.add_route(OPENAPI_PATH, OpenApiResource())
    app.add_route("/user-items", UserItemsResource(holder, settings))
    app.add_route("/similar-items", SimilarItemsResource(holder, settings))
    app.add_route("/health-check", HealthCheckResource(holder, health))
    if settings.event_intake:
        app.add_route(INTERACTIONS_PATH, InteractionsResource(settings))
    app.add_error_handler(Exception, handle_uncaught)
    app.add_error_handler(ContractFailure, handle_contract_failure)
    app.add_error_handler(BadParameter, handle_bad_parameter)
    app.set_error_serializer(serialize_http_error)
    return app
