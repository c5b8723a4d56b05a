"""Totara's token scheme (contract §3.1), shared by both directions.

``X-Totara-Ml-Key`` is the lowercase hex SHA-256 of the UTF-8 string
``<time string><shared key>`` (plain concatenation, not an HMAC) and
``X-Totara-Time`` is the Unix time in whole seconds. The service signs its export
downloads with :func:`signed_headers` (lowercase header names, §3.3) and checks
Totara's requests with :func:`token_is_valid` (±30 s inclusive, constant-time,
§3.4). Nothing here logs or formats the key.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable

#: Header carrying the digest (lowercase, as the service sends it; §3.3).
KEY_HEADER = "x-totara-ml-key"
#: Header carrying the Unix time in seconds.
TIME_HEADER = "x-totara-time"
#: Accepted clock difference in seconds, inclusive on both sides (§3.3, §3.4).
WINDOW_SECONDS = 30
#: Longest ``X-Totara-Time`` accepted: any 64-bit Unix time fits (Totara sends 10 digits).
MAX_TIME_CHARS = 20
#: Longest ``X-Totara-Ml-Key`` accepted (a SHA-256 hex digest has 64 characters).
MAX_KEY_CHARS = 128


def make_token(time_string: str, key: str) -> str:
    """The digest Totara expects for ``time_string`` and the shared ``key``.

    Args:
        time_string: The exact ``X-Totara-Time`` value, e.g. ``"1700000000"``.
        key: The shared secret (``ML_TOTARA_KEY``).

    Returns:
        Lowercase hex SHA-256 of ``time_string + key`` (64 characters).
    """
    return hashlib.sha256(f"{time_string}{key}".encode()).hexdigest()


def signed_headers(key: str, clock: Callable[[], float]) -> dict[str, str]:
    """Fresh token headers for one outgoing request; build them again per request.

    Args:
        key: The shared secret.
        clock: Returns the current Unix time (e.g. ``time.time``); truncated to
            whole seconds because Totara expects an integer.

    Returns:
        ``{"x-totara-ml-key": <digest>, "x-totara-time": <integer seconds>}``.
    """
    time_string = str(int(clock()))
    return {KEY_HEADER: make_token(time_string, key), TIME_HEADER: time_string}


def token_is_valid(
    time_value: str | None,
    key_value: str | None,
    key: str,
    now: float,
    window: int = WINDOW_SECONDS,
) -> bool:
    """Whether a received header pair is a valid token at time ``now``.

    Valid when ``time_value`` is a string of decimal digits within
    ``[floor(now) - window, floor(now) + window]`` (inclusive) and ``key_value`` equals :func:`make_token` of that
    exact time string, compared in constant time. Missing or empty values, an
    empty ``key``, non-integer times and values longer than :data:`MAX_TIME_CHARS` /
    :data:`MAX_KEY_CHARS` are invalid; lengths are checked before anything is parsed
    (Python refuses ``int()`` of more than 4,300 digits).

    Args:
        time_value: The received ``X-Totara-Time`` header, or None.
        key_value: The received ``X-Totara-Ml-Key`` header, or None.
        key: The shared secret.
        now: The receiver's Unix time in seconds.
        window: Accepted difference in seconds.
    """
    return token_problem(time_value, key_value, key, now, window) is None


def token_problem(
    time_value: str | None,
    key_value: str | None,
    key: str,
    now: float,
    window: int = WINDOW_SECONDS,
) -> str | None:
    """Why a received header pair is not a valid token, None when it is (see :func:`token_is_valid`).

    Returns:
        ``"missing"`` (a header absent or empty, or no key configured), ``"malformed"``
        (time not decimal digits, or a header longer than :data:`MAX_TIME_CHARS` /
        :data:`MAX_KEY_CHARS`), ``"stale by N s"`` (outside the window; N is the
        signed difference, positive for a client clock ahead) or ``"wrong key"``. Never
        the key or the expected digest.
    """
    if not time_value or not key_value or not key:
        return "missing"
    if len(time_value) > MAX_TIME_CHARS or len(key_value) > MAX_KEY_CHARS:
        return "malformed"  # checked before parsing: int() refuses 4,301+ digits
    if not time_value.isascii() or not time_value.isdigit():
        return "malformed"
    skew = int(time_value) - math.floor(now)
    if abs(skew) > window:
        return f"stale by {skew:+d} s"
    expected = make_token(time_value, key)
    if hmac.compare_digest(expected.encode("ascii"), key_value.encode("utf-8", "replace")):
        return None
    return "wrong key"
