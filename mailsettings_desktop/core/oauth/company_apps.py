"""Company sign-in apps: the company's own app registrations, as plain settings data.

Each company registers its own application with Microsoft Entra or Google Cloud (client
IDs are settings, never built in). An app serves the addresses of its domains (or every
address of its provider when it lists none). The settings hold no secret: client secrets,
certificate keys and service-account keys live in the keyring only, under the
"oauth-app" namespace, through `AppSecrets`.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from mailsettings_desktop.core.oauth.providers import OAuthFlow
from mailsettings_desktop.core.paths import data_dir
from mailsettings_desktop.core.secrets import SecretStore

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1
SETTINGS_FILE_NAME = "company-sign-in-apps.json"
SECRET_NAMESPACE = "oauth-app"
# A Microsoft tenant is a GUID, a verified domain, or one of these words.
_TENANT_WORDS = frozenset({"common", "organizations", "consumers"})
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$", re.I)


class AppSecret(StrEnum):
    """The kinds of secret an app may have; each is one keyring entry."""

    CLIENT_SECRET = "client-secret"
    # PEM with the private key and the certificate registered with Microsoft Entra.
    CERTIFICATE = "certificate"
    # Google's service-account key file (JSON) as downloaded.
    SERVICE_ACCOUNT_KEY = "service-account-key"


@dataclass(frozen=True)
class CompanyApp:
    """One app registration of the company. No secrets here.

    `flow` says what the app is for: INTERACTIVE (employees sign in; a public desktop
    client, or Google's "Desktop app" client which has a non-confidential secret),
    APP_ONLY (Microsoft 365 client credentials) or DELEGATION (a Google service account).
    """

    key: str
    provider: str  # "microsoft" or "google"
    flow: OAuthFlow
    client_id: str
    name: str = ""
    tenant: str = ""  # Microsoft: tenant ID or domain; empty means the preset's default
    domains: tuple[str, ...] = ()
    use_certificate: bool = False  # APP_ONLY: a certificate instead of a client secret

    def serves(self, email: str) -> bool:
        """Whether this app is meant for an address (its domains, or all when none)."""
        if not self.domains:
            return True
        domain = email.strip().rpartition("@")[2].lower().rstrip(".")
        return domain in self.domains

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.key, "provider": self.provider, "flow": self.flow.value,
            "client_id": self.client_id, "name": self.name, "tenant": self.tenant,
            "domains": list(self.domains), "use_certificate": self.use_certificate,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> CompanyApp:
        domains = raw.get("domains", [])
        return cls(
            key=str(raw["key"]),
            provider=str(raw["provider"]),
            flow=OAuthFlow(str(raw["flow"])),
            client_id=str(raw.get("client_id", "")),
            name=str(raw.get("name", "")),
            tenant=str(raw.get("tenant", "")),
            domains=tuple(str(d).lower() for d in domains) if isinstance(domains, list) else (),
            use_certificate=bool(raw.get("use_certificate", False)),
        )

    def secrets_needed(self) -> tuple[AppSecret, ...]:
        """The keyring entries this app needs before it can fetch a token."""
        if self.flow is OAuthFlow.APP_ONLY:
            return (AppSecret.CERTIFICATE if self.use_certificate else AppSecret.CLIENT_SECRET,)
        if self.flow is OAuthFlow.DELEGATION:
            return (AppSecret.SERVICE_ACCOUNT_KEY,)
        return ()  # an interactive client's secret (Google) is optional


@dataclass(frozen=True)
class CompanyApps:
    """All company sign-in apps; the first one that serves an address is used."""

    apps: tuple[CompanyApp, ...] = ()

    def find(self, provider: str, flow: OAuthFlow, email: str) -> CompanyApp | None:
        """The app for this provider, flow and address: one naming the address's domain
        wins over one for all domains."""
        candidates = [a for a in self.apps if a.provider == provider and a.flow is flow]
        for app in candidates:
            if app.domains and app.serves(email):
                return app
        return next((a for a in candidates if not a.domains), None)

    def get(self, key: str) -> CompanyApp | None:
        return next((a for a in self.apps if a.key == key), None)

    def with_app(self, app: CompanyApp) -> CompanyApps:
        """A copy with `app` added, or replacing the app with the same key."""
        others = tuple(a for a in self.apps if a.key != app.key)
        return CompanyApps((*others, app))

    def without(self, key: str) -> CompanyApps:
        return CompanyApps(tuple(a for a in self.apps if a.key != key))

    def to_json(self) -> dict[str, object]:
        return {"version": SETTINGS_VERSION, "apps": [a.to_json() for a in self.apps]}

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> CompanyApps:
        items = raw.get("apps", [])
        if not isinstance(items, list):
            raise ValueError("'apps' must be a list")
        return cls(tuple(CompanyApp.from_json(item) for item in items))


def default_settings_path() -> Path:
    return data_dir() / SETTINGS_FILE_NAME


def load_company_apps(path: Path | None = None) -> CompanyApps:
    """Read the settings file; a missing file means no apps yet."""
    path = path or default_settings_path()
    if not path.exists():
        return CompanyApps()
    return CompanyApps.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_company_apps(apps: CompanyApps, path: Path | None = None) -> None:
    """Write the settings file atomically (a temporary file, then a rename)."""
    path = path or default_settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(apps.to_json(), indent=2) + "\n", encoding="utf-8")
    temporary.replace(path)
    log.info("company sign-in apps saved: %d app(s)", len(apps.apps))


class AppSecrets:
    """The secrets of company apps, in the keyring only."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store

    def put(self, app: CompanyApp, kind: AppSecret, value: str) -> None:
        self._store.put_secret(SECRET_NAMESPACE, f"{app.key}:{kind.value}", value)

    def get(self, app: CompanyApp, kind: AppSecret) -> str | None:
        return self._store.get_secret(SECRET_NAMESPACE, f"{app.key}:{kind.value}")

    def delete(self, app: CompanyApp, kind: AppSecret) -> None:
        """Remove one secret (one that is already gone is not an error)."""
        self._store.delete_secret(SECRET_NAMESPACE, f"{app.key}:{kind.value}")

    def delete_all(self, app: CompanyApp) -> None:
        """Remove every secret of an app that is being removed."""
        for kind in AppSecret:
            self._store.delete_secret(SECRET_NAMESPACE, f"{app.key}:{kind.value}")


@dataclass(frozen=True)
class ServiceAccountKey:
    """The parts of a Google service-account key that the JWT assertion needs."""

    client_email: str
    private_key: str = field(repr=False)
    private_key_id: str = ""
    client_id: str = ""


def parse_service_account_key(text: str) -> ServiceAccountKey:
    """Read a key file's JSON; raises ValueError with a sentence for the admin."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError("The file is not a Google service-account key (not JSON).") from exc
    if not isinstance(raw, dict) or raw.get("type") != "service_account":
        raise ValueError("The file is not a Google service-account key "
                         "(its type is not service_account).")
    email, key = raw.get("client_email"), raw.get("private_key")
    if not isinstance(email, str) or not isinstance(key, str) or "PRIVATE KEY" not in key:
        raise ValueError("The service-account key has no client_email or private_key.")
    return ServiceAccountKey(
        email, key, str(raw.get("private_key_id", "")), str(raw.get("client_id", ""))
    )


@dataclass(frozen=True)
class AppCertificate:
    """A private key and its certificate, as Microsoft's certificate credentials need."""

    private_key_pem: str = field(repr=False)
    # base64url SHA-1 and SHA-256 of the certificate: the JWT header's x5t and x5t#S256.
    x5t: str
    x5t_s256: str


def parse_certificate(pem: str) -> AppCertificate:
    """Split a PEM bundle into key and certificate; ValueError with a sentence if bad."""
    data = pem.encode("ascii", "replace")
    try:
        key = serialization.load_pem_private_key(data, password=None)
        cert = x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise ValueError("The file must hold the unencrypted private key and the "
                         "certificate, both in PEM form.") from exc
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    return AppCertificate(
        key_pem, _b64url(cert.fingerprint(hashes.SHA1())),  # RFC 7515: x5t is SHA-1
        _b64url(cert.fingerprint(hashes.SHA256())),
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def app_problems(app: CompanyApp) -> list[str]:
    """Field errors of an app's settings, before it is saved (secrets are checked apart)."""
    return list(app_field_problems(app).values())


def app_field_problems(app: CompanyApp) -> dict[str, str]:
    """The same errors by field ("provider", "clientId", "tenant", "domains"), so the
    Company sign-in apps window can show each one next to its field."""
    problems: dict[str, str] = {}
    if app.provider not in {"microsoft", "google"}:
        problems["provider"] = "Choose Microsoft or Google."
    if app.flow is not OAuthFlow.DELEGATION and not app.client_id.strip():
        problems["clientId"] = "Enter the application (client) ID."
    if app.provider == "microsoft" and app.flow is OAuthFlow.APP_ONLY and not app.tenant:
        problems["tenant"] = "App-only access needs the tenant ID (or the tenant's domain)."
    elif app.tenant and not _valid_tenant(app.tenant):
        problems["tenant"] = "The tenant must be a tenant ID (a GUID) or a domain name."
    bad = [f"'{d}' is not a domain name." for d in app.domains if not _DOMAIN.match(d)]
    if bad:
        problems["domains"] = " ".join(bad)
    return problems


def _valid_tenant(tenant: str) -> bool:
    return tenant in _TENANT_WORDS or bool(_GUID.match(tenant) or _DOMAIN.match(tenant))


def normalised_domains(values: Iterable[str]) -> tuple[str, ...]:
    """Domains as the settings keep them: lower case, without '@' or a trailing dot."""
    cleaned = (v.strip().lstrip("@").rstrip(".").lower() for v in values)
    return tuple(dict.fromkeys(d for d in cleaned if d))
