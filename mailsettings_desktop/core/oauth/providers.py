"""OAuth2 data of the mail providers that offer it, read from the provider presets.

Endpoints, scopes and supported sign-in methods are data in `resources/providers.json`
(an "oauth" object per preset), not code, so a provider change is a data change and tests
can point every endpoint at a fake server on 127.0.0.1 with `with_endpoints`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

log = logging.getLogger(__name__)

TENANT_PLACEHOLDER = "{tenant}"


class AuthMethod(StrEnum):
    """How an address signs in to its SMTP server."""

    PASSWORD = "password"  # a password or app password, over PLAIN/LOGIN/CRAM-MD5
    OAUTH2 = "oauth2"  # an access token, over SASL XOAUTH2 or OAUTHBEARER

    @property
    def label(self) -> str:
        return {
            AuthMethod.PASSWORD: "Password or app password",
            AuthMethod.OAUTH2: "Sign in with the provider (OAuth2)",
        }[self]


class OAuthFlow(StrEnum):
    """How an access token is obtained for an address."""

    # The employee signs in once in the browser; a refresh token is kept.
    INTERACTIVE = "interactive"
    # Microsoft 365 app-only access: client credentials of the company's app.
    APP_ONLY = "app_only"
    # Google Workspace domain-wide delegation: a service account acts as the employee.
    DELEGATION = "delegation"

    @property
    def label(self) -> str:
        return {
            OAuthFlow.INTERACTIVE: "The employee signs in (browser)",
            OAuthFlow.APP_ONLY: "Company app, without the employee (Microsoft 365 app-only)",
            OAuthFlow.DELEGATION: "Company service account, without the employee "
                                  "(Google Workspace domain-wide delegation)",
        }[self]


@dataclass(frozen=True)
class OAuthProvider:
    """One identity provider's endpoints and scopes for sending mail over SMTP.

    `tenant` is the default for `{tenant}` in the endpoint URLs (Microsoft: "consumers"
    for Outlook.com, "organizations" for work accounts); a company app may name its own.
    """

    name: str  # "microsoft" or "google": the key the OAuth error table uses
    authorize_endpoint: str
    token_endpoint: str
    scopes: tuple[str, ...]
    userinfo_endpoint: str = ""
    app_only_scopes: tuple[str, ...] = ()
    delegation_scopes: tuple[str, ...] = ()
    tenant: str = ""
    flows: tuple[OAuthFlow, ...] = (OAuthFlow.INTERACTIVE,)
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def authorize_url(self, tenant: str = "") -> str:
        return self.authorize_endpoint.replace(TENANT_PLACEHOLDER, tenant or self.tenant)

    def token_url(self, tenant: str = "") -> str:
        return self.token_endpoint.replace(TENANT_PLACEHOLDER, tenant or self.tenant)

    def with_endpoints(
        self, authorize: str, token: str, userinfo: str | None = None
    ) -> OAuthProvider:
        """The same provider with other endpoints (a fake server in tests, a sovereign
        cloud in production); `{tenant}` may appear in them as in the real ones."""
        return replace(
            self,
            authorize_endpoint=authorize,
            token_endpoint=token,
            userinfo_endpoint=self.userinfo_endpoint if userinfo is None else userinfo,
        )


@dataclass(frozen=True)
class AuthOptions:
    """Which sign-in methods a preset supports, which one a new address starts with, and
    the provider's OAuth data when OAuth2 is among them."""

    methods: tuple[AuthMethod, ...] = (AuthMethod.PASSWORD,)
    default: AuthMethod = AuthMethod.PASSWORD
    provider: OAuthProvider | None = None


PASSWORD_ONLY = AuthOptions()


def auth_options_from_json(raw: Mapping[str, object] | None) -> AuthOptions:
    """Read a preset's "oauth" object; a preset without one supports passwords only."""
    if not raw:
        return PASSWORD_ONLY
    methods = tuple(AuthMethod(str(m)) for m in _strings(raw.get("methods", ["oauth2"])))
    default = AuthMethod(str(raw.get("default", methods[0].value)))
    if default not in methods:
        raise ValueError(f"default sign-in method {default} is not among {methods}")
    provider = OAuthProvider(
        name=str(raw["provider"]),
        authorize_endpoint=str(raw["authorize_endpoint"]),
        token_endpoint=str(raw["token_endpoint"]),
        scopes=_strings(raw.get("scopes", [])),
        userinfo_endpoint=str(raw.get("userinfo_endpoint", "")),
        app_only_scopes=_strings(raw.get("app_only_scopes", [])),
        delegation_scopes=_strings(raw.get("delegation_scopes", [])),
        tenant=str(raw.get("tenant", "")),
        flows=tuple(OAuthFlow(f) for f in _strings(raw.get("flows", ["interactive"]))),
        authorize_params=_string_map(raw.get("authorize_params", {})),
        sources=_string_map(raw.get("sources", {})),
    )
    return AuthOptions(methods, default, provider)


def _strings(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return tuple(str(item) for item in value)


def _string_map(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError(f"expected an object, got {value!r}")
    return {str(k): str(v) for k, v in value.items()}
