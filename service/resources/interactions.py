"""POST ``/interactions``: the optional event intake (``ML_EVENT_INTAKE``, off by default).

An LMS posts learners' new interactions as they happen, signed like every other
request (``X-Totara-Time`` and ``X-Totara-Ml-Key``), as a JSON array or JSON lines
of ``{"tenant", "user_id", "item_id", "rating", "timestamp"}``
(:mod:`mlcore.events.records`). A valid body is written durably to the event log
(:mod:`mlcore.events.event_log`) before the answer ``202 {"accepted": N}``; the next
refresh cycle folds the events in. A bad body is refused whole with a 400 JSON
error naming the record; a body over ``ML_EVENT_MAX_BYTES`` with 413.
"""

from __future__ import annotations

import json
import logging

import falcon

from mlcore.config import Settings
from mlcore.events.event_log import EventLog
from mlcore.events.records import EventError, parse_events
from service.errors import error_body

log = logging.getLogger(__name__)

PATH = "/interactions"


class InteractionsResource:
    """Accepts signed interaction events into the event log.

    Args:
        settings: ``event_max_bytes`` and ``event_max_records`` apply.
        events: The log (default: under ``ML_MODELS_DIR``).
    """

    def __init__(self, settings: Settings, events: EventLog | None = None) -> None:
        self._settings = settings
        self._events = events or EventLog.under(settings.models_dir)

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        from service.metrics import recorders

        limit = self._settings.event_max_bytes
        body = req.bounded_stream.read(limit + 1)
        if len(body) > limit:
            resp.set_header("Connection", "close")
            raise falcon.HTTPContentTooLarge(
                description=f"at most {limit} bytes per request (ML_EVENT_MAX_BYTES)"
            )
        try:
            events = parse_events(body, self._settings.event_max_records)
        except EventError as exc:
            recorders.events("rejected", 1)
            resp.status = falcon.HTTP_400
            resp.content_type = falcon.MEDIA_JSON
            resp.text = error_body(str(exc))
            return
        self._events.append(events)
        recorders.events("accepted", len(events))
        resp.status = falcon.HTTP_202
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps({"accepted": len(events)})
