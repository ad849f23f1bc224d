"""HTTP sessions for talking to identity providers, with the account check's trust store.

authlib's requests integration does the OAuth2 protocol; this module only gives its
sessions the same certificate authorities as the SMTP check (system ones plus
`MAILSETTINGS_EXTRA_CA_FILE`, for companies behind a TLS-inspecting proxy) and a timeout
on every request, and turns transport failures into typed errors.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import requests.adapters
from authlib.integrations.base_client import OAuthError as AuthlibClientError
from authlib.oauth2.base import OAuth2Error as AuthlibProtocolError

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.oauth.errors import OAuthError, error_from_response
from mailsettings_desktop.core.trust import tls_context

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 20.0

SessionT = TypeVar("SessionT", bound=requests.Session)


@dataclass(frozen=True)
class HttpSettings:
    """How requests to identity providers are made."""

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    extra_ca_file: Path | None = None


class _TrustAdapter(requests.adapters.HTTPAdapter):
    """Verifies TLS with our SSL context instead of requests' bundled authorities."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


def prepare(session: SessionT, settings: HttpSettings) -> SessionT:
    """Mount the trust adapter on an authlib session; proxies from the environment stay."""
    session.mount("https://", _TrustAdapter(tls_context(settings.extra_ca_file)))
    return session


@contextmanager
def translated(provider: str, step: str) -> Iterator[None]:
    """Turn authlib's and requests' exceptions into `OAuthError`s with a category."""
    try:
        yield
    except (AuthlibClientError, AuthlibProtocolError) as exc:
        error = str(getattr(exc, "error", "") or "")
        description = str(getattr(exc, "description", "") or "")
        log.info("%s: %s answered %s", step, provider, error or type(exc).__name__)
        raise error_from_response(error, description, provider=provider) from exc
    except requests.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        log.info("%s: %s answered HTTP %s", step, provider, status)
        category = Category.OAUTH_UNAVAILABLE if (status or 0) >= 500 else (
            Category.OAUTH_PROVIDER_ERROR
        )
        raise OAuthError(category, description=f"HTTP {status}", provider=provider,
                         status=status) from exc
    except requests.RequestException as exc:
        log.info("%s: %s not reachable: %s", step, provider, type(exc).__name__)
        raise OAuthError(Category.OAUTH_UNAVAILABLE, description=_safe(exc),
                         provider=provider) from exc
    except ValueError as exc:  # authlib: the token endpoint did not answer with JSON
        log.info("%s: %s gave an unreadable answer", step, provider)
        raise OAuthError(Category.OAUTH_PROVIDER_ERROR, description=str(exc),
                         provider=provider) from exc


def _safe(exc: BaseException) -> str:
    """An exception's type and message; request exceptions carry only URLs and reasons."""
    return f"{type(exc).__name__}: {exc}"
