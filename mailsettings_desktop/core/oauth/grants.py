"""Token requests: refresh, Microsoft 365 app-only, and Google domain-wide delegation.

authlib does the protocol and all signing (PKCE challenge, `private_key_jwt` client
assertions, RFC 7523 JWT bearer assertions); these functions pick the grant, the client
authentication and the scopes from provider data and company app settings, and turn
every failure into a typed `OAuthError`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from authlib.integrations.requests_client import AssertionSession, OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import RSAKey

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.oauth.company_apps import AppCertificate, ServiceAccountKey
from mailsettings_desktop.core.oauth.errors import OAuthError, sign_in_again
from mailsettings_desktop.core.oauth.http import HttpSettings, prepare, translated
from mailsettings_desktop.core.oauth.providers import OAuthProvider
from mailsettings_desktop.core.oauth.tokens import AccessToken, Clock, token_from_response

log = logging.getLogger(__name__)


def public_client_session(
    provider: OAuthProvider,
    client_id: str,
    client_secret: str | None,
    http: HttpSettings,
    **kwargs: Any,
) -> OAuth2Session:
    """A session for the interactive client. Microsoft's desktop clients are public (no
    secret); Google's "Desktop app" clients send their (non-confidential) secret."""
    session = OAuth2Session(
        client_id,
        client_secret or None,
        token_endpoint_auth_method="client_secret_post" if client_secret else "none",
        scope=" ".join(provider.scopes),
        default_timeout=http.timeout_seconds,
        **kwargs,
    )
    return prepare(session, http)


def refresh_access_token(
    provider: OAuthProvider,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    *,
    tenant: str = "",
    http: HttpSettings,
    clock: Clock,
) -> tuple[AccessToken, str | None]:
    """A new access token from a refresh token, and the new refresh token when the
    provider rotated it (Microsoft does; the old one then stops working soon)."""
    if not refresh_token:
        raise sign_in_again("no refresh token is stored for this address", provider.name)
    with public_client_session(provider, client_id, client_secret, http) as session, \
            translated(provider.name, "refresh"):
        answer = session.refresh_token(provider.token_url(tenant), refresh_token=refresh_token)
    token = _access_token(answer, clock, provider.name)
    rotated = answer.get("refresh_token")
    log.info("access token refreshed at %s (refresh token %s)", provider.name,
             "rotated" if rotated and rotated != refresh_token else "kept")
    return token, rotated if isinstance(rotated, str) and rotated != refresh_token else None


def fetch_app_only_token(
    provider: OAuthProvider,
    client_id: str,
    tenant: str,
    *,
    client_secret: str | None = None,
    certificate: AppCertificate | None = None,
    http: HttpSettings,
    clock: Clock,
) -> AccessToken:
    """Microsoft 365 app-only access: the client-credentials grant of the company's app,
    with a client secret or (preferred by Microsoft) a certificate's signed assertion."""
    if not provider.app_only_scopes:
        raise OAuthError(Category.OAUTH_NOT_SET_UP, description="no app-only scope",
                         provider=provider.name)
    token_url = provider.token_url(tenant)
    scope = " ".join(provider.app_only_scopes)
    extra: dict[str, str] = {}
    if certificate is not None:
        auth_method: object = PrivateKeyJWT(
            token_url, headers={"x5t": certificate.x5t}, alg="RS256"
        )
        credential = certificate.private_key_pem
        # authlib puts only the assertion in the body; Microsoft wants client_id too.
        extra["client_id"] = client_id
    elif client_secret:
        auth_method, credential = "client_secret_post", client_secret
    else:
        raise OAuthError(Category.OAUTH_NOT_SET_UP,
                         description="the app has neither a client secret nor a certificate",
                         provider=provider.name)
    session = prepare(
        OAuth2Session(client_id, credential, token_endpoint_auth_method=auth_method,
                      scope=scope, default_timeout=http.timeout_seconds),
        http,
    )
    with session, translated(provider.name, "app-only token"):
        answer = session.fetch_token(token_url, grant_type="client_credentials", **extra)
    log.info("app-only token fetched at %s for tenant %s", provider.name, tenant)
    return _access_token(answer, clock, provider.name)


def fetch_delegated_token(
    provider: OAuthProvider,
    key: ServiceAccountKey,
    subject: str,
    *,
    http: HttpSettings,
    clock: Clock,
) -> AccessToken:
    """Google Workspace domain-wide delegation: a JWT assertion signed with the service
    account's key, with `sub` the employee's address, exchanged for that employee's
    token (RFC 7523). Google reads the scope from the assertion's claims."""
    token_url = provider.token_url()
    scope = " ".join(provider.delegation_scopes or provider.scopes)
    header = {"alg": "RS256", **({"kid": key.private_key_id} if key.private_key_id else {})}
    session = prepare(
        AssertionSession(
            token_endpoint=token_url,
            issuer=key.client_email,
            subject=subject,
            audience=token_url,
            claims={"scope": scope},
            # A joserfc key object: authlib deprecates handing it PEM text here.
            key=_signing_key(key.private_key, provider.name),
            header=header,
            default_timeout=http.timeout_seconds,
        ),
        http,
    )
    with session, translated(provider.name, "delegated token"):
        answer = session.refresh_token()
    log.info("delegated token fetched at %s for %s", provider.name, subject)
    return _access_token(answer, clock, provider.name)


def _signing_key(pem: str, provider: str) -> RSAKey:
    try:
        return RSAKey.import_key(pem)
    except (ValueError, TypeError) as exc:
        raise OAuthError(Category.OAUTH_NOT_SET_UP,
                         description="the service-account key's private_key is not an RSA key",
                         provider=provider) from exc


def _access_token(answer: Mapping[str, object], clock: Clock, provider: str) -> AccessToken:
    try:
        return token_from_response(answer, clock())
    except ValueError as exc:
        raise OAuthError(Category.OAUTH_PROVIDER_ERROR, description=str(exc),
                         provider=provider) from exc
