"""Access tokens and the in-memory cache that keeps them until shortly before they expire.

Access tokens are short-lived (about an hour) and never stored on disk: only refresh
tokens and app secrets go to the keyring. The cache is shared by the GUI's worker threads,
so it is locked; its clock is injected so tests can make a token expire.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Clock = Callable[[], float]
# A token this close to its expiry is treated as expired: a check started with it could
# otherwise fail half-way with a token that ran out during the conversation.
EXPIRY_MARGIN_SECONDS = 120.0
# When a provider does not say how long a token lives, assume the usual hour.
DEFAULT_LIFETIME_SECONDS = 3600.0


@dataclass(frozen=True)
class AccessToken:
    """A bearer token for SMTP; `value` never shows in a repr."""

    value: str = field(repr=False)
    expires_at: float  # on the clock that issued it (time.time by default)
    scope: str = ""

    def expired(self, now: float, margin: float = EXPIRY_MARGIN_SECONDS) -> bool:
        return now >= self.expires_at - margin


def token_from_response(token: Mapping[str, object], now: float) -> AccessToken:
    """An `AccessToken` from a token endpoint's JSON answer."""
    value = token.get("access_token")
    if not isinstance(value, str) or not value:
        raise ValueError("the token endpoint's answer has no access_token")
    lifetime = token.get("expires_in")
    try:
        # Some providers send the number as a string.
        seconds = float(lifetime) if isinstance(lifetime, int | float | str) else (
            DEFAULT_LIFETIME_SECONDS
        )
    except ValueError:
        seconds = DEFAULT_LIFETIME_SECONDS
    return AccessToken(value, now + seconds, str(token.get("scope", "") or ""))


class TokenCache:
    """Access tokens by cache key (an address's key), kept in memory only."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, AccessToken] = {}

    @property
    def clock(self) -> Clock:
        return self._clock

    def get(self, key: str) -> AccessToken | None:
        """The cached token, or None when there is none or it (nearly) expired."""
        with self._lock:
            token = self._tokens.get(key)
            if token is None:
                return None
            if token.expired(self._clock()):
                del self._tokens[key]
                return None
            return token

    def put(self, key: str, token: AccessToken) -> None:
        with self._lock:
            self._tokens[key] = token

    def forget(self, key: str) -> None:
        with self._lock:
            self._tokens.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
