"""OAuth2 sign-in for SMTP (XOAUTH2): provider data, company apps, flows and tokens.

The GUI needs only what this module exports; see README "Sign in with Microsoft and
Google (OAuth2)" for the flows and the app registrations they need.
"""

from mailsettings_desktop.core.oauth.company_apps import (
    AppCertificate,
    AppSecret,
    AppSecrets,
    CompanyApp,
    CompanyApps,
    ServiceAccountKey,
    app_field_problems,
    app_problems,
    load_company_apps,
    normalised_domains,
    parse_certificate,
    parse_service_account_key,
    save_company_apps,
)
from mailsettings_desktop.core.oauth.errors import (
    OAuthError,
    SignInAgainError,
    SignInCancelledError,
)
from mailsettings_desktop.core.oauth.http import HttpSettings
from mailsettings_desktop.core.oauth.interactive import (
    BrowserOpener,
    ClientApp,
    InteractiveSignIn,
    SignInResult,
    open_in_system_browser,
)
from mailsettings_desktop.core.oauth.providers import (
    AuthMethod,
    AuthOptions,
    OAuthFlow,
    OAuthProvider,
)
from mailsettings_desktop.core.oauth.service import (
    AddressAuth,
    OAuthTarget,
    SignInState,
    TokenService,
    oauth_providers,
    with_account,
)
from mailsettings_desktop.core.oauth.tokens import AccessToken, TokenCache

__all__ = [
    "AccessToken", "AddressAuth", "AppCertificate", "AppSecret", "AppSecrets", "AuthMethod",
    "AuthOptions", "BrowserOpener", "ClientApp", "CompanyApp", "CompanyApps", "HttpSettings",
    "InteractiveSignIn", "OAuthError", "OAuthFlow", "OAuthProvider", "OAuthTarget",
    "ServiceAccountKey", "SignInAgainError", "SignInCancelledError", "SignInResult",
    "SignInState", "TokenCache", "TokenService", "app_field_problems", "app_problems",
    "load_company_apps",
    "normalised_domains", "oauth_providers", "open_in_system_browser", "parse_certificate",
    "parse_service_account_key", "save_company_apps", "with_account",
]
