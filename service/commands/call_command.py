"""``mlservice call PATH``: a correctly signed GET to a running service, JSON printed.

What an administrator uses instead of hand-computing the token, e.g.
``mlservice call "/user-items?totara_user_id=2&item_type=engage_article&tenant=0&n_items=5"``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from mlcore.config import load_settings
from mlcore.errors import ConfigError
from mlcore.totara.token import make_token

USER_AGENT = "TotaraBot/1.0"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="path and query string, e.g. /health-check")
    parser.add_argument(
        "--url", default="http://127.0.0.1:5000", help="service base URL (default: %(default)s)"
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (default: 10)")


def signed_request_headers(key: str, now: float) -> dict[str, str]:
    """The headers Totara sends (contract §3.2)."""
    time_string = str(int(now))
    return {
        "X-Totara-Time": time_string,
        "X-Totara-Ml-Key": make_token(time_string, key),
        "User-Agent": USER_AGENT,
    }


def run(args: argparse.Namespace) -> int:
    import requests

    settings = load_settings()
    key = settings.effective_key
    if not key:
        raise ConfigError("ML_TOTARA_KEY is not set: cannot sign the request")
    path = args.path if args.path.startswith("/") else "/" + args.path
    url = args.url.rstrip("/") + path
    try:
        response = requests.get(
            url, headers=signed_request_headers(key, time.time()), timeout=args.timeout
        )
    except requests.RequestException as exc:
        print(f"mlservice call: cannot reach {url}: {exc}", file=sys.stderr)
        return 1
    try:
        text = json.dumps(response.json(), indent=2)
    except ValueError:
        text = response.text
    try:
        print(text, flush=True)
    except BrokenPipeError:  # e.g. piped into `head`: silence the flush at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0 if response.status_code == 200 else 1
    if response.status_code != 200:
        print(f"mlservice call: HTTP {response.status_code}", file=sys.stderr)
        return 1
    return 0
