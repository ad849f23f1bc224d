"""The "Company sign-in apps" window: the company's own app registrations, per tenant/domain.

An admin registers the company's app with Microsoft Entra or Google Cloud once (README
walks through it) and enters it here: the app the employees sign in with (its client ID
is a setting, not built in), Microsoft 365 app-only access, and Google Workspace
domain-wide delegation. Client IDs, tenants and domains go to the settings file; client
secrets, certificates and service-account keys go only to the keyring, via `AppSecrets`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.oauth import (
    AppSecret,
    CompanyApp,
    CompanyApps,
    OAuthFlow,
    TokenService,
    app_field_problems,
    normalised_domains,
    parse_certificate,
    parse_service_account_key,
    save_company_apps,
)
from mailsettings_desktop.core.secrets import SecretStoreError
from mailsettings_desktop.ui.context import AppContext
from mailsettings_desktop.ui.oauth_support import (
    company_apps_path,
    provider_label,
    token_service,
)
from mailsettings_desktop.ui.style import field_error_label, set_problem

log = logging.getLogger(__name__)

_FLOWS = {
    "microsoft": (
        (OAuthFlow.INTERACTIVE, "The employee signs in (desktop app)"),
        (OAuthFlow.APP_ONLY, "Company app, without the employee (app-only)"),
    ),
    "google": (
        (OAuthFlow.INTERACTIVE, "The employee signs in (desktop app client)"),
        (OAuthFlow.DELEGATION, "Company service account, without the employee"),
    ),
}
_FLOW_SHORT = {
    OAuthFlow.INTERACTIVE: "employees sign in",
    OAuthFlow.APP_ONLY: "app-only",
    OAuthFlow.DELEGATION: "domain-wide delegation",
}
_CREDENTIAL_SECRET = "secret"
_CREDENTIAL_CERTIFICATE = "certificate"
_UNCHANGED = "Unchanged (kept in the keyring)"


def open_company_apps_window(parent: QWidget | None, context: AppContext) -> CompanyAppsWindow:
    """Open the window (or bring an open one forward); the main window's Settings menu
    calls this."""
    if parent is not None:
        for existing in parent.findChildren(CompanyAppsWindow):
            existing.raise_()
            existing.activateWindow()
            return existing
    window = CompanyAppsWindow(context, parent)
    window.show()
    return window


class CompanyAppsWindow(QDialog):
    """Lists, adds, edits and removes the company's sign-in apps.

    Signals:
        apps_changed(): an app was saved or removed (open address dialogs re-read them).
    """

    apps_changed = Signal()

    def __init__(self, context: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._context = context
        self._tokens: TokenService = token_service(context)
        self._editing: CompanyApp | None = None
        self._pending_removal: CompanyApp | None = None
        self.setObjectName("companyAppsWindow")
        self.setWindowTitle("Company sign-in apps")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setSizeGripEnabled(True)
        self._build()
        self._connect_signals()
        self._reload_list()
        self._start_new_app()
        self.resize(900, 600)

    # Building ------------------------------------------------------------------------------

    def _build(self) -> None:
        intro = QLabel(
            "The company registers its own app with Microsoft or Google once (see the "
            "README), then enters it here. Client IDs, tenants and domains are kept in a "
            "settings file; client secrets, certificates and service-account keys only in "
            "the keyring."
        )
        intro.setWordWrap(True)
        intro.setProperty("role", "hint")

        self._list = QListWidget()
        self._list.setObjectName("companyAppsList")
        # Two-line entries need air between them to read as separate apps.
        self._list.setSpacing(3)
        self._list.setAlternatingRowColors(True)
        self._empty = QLabel("No company sign-in apps yet. Fill in the form to add one.")
        self._empty.setObjectName("companyAppsEmpty")
        self._empty.setWordWrap(True)
        self._empty.setProperty("role", "hint")
        self._new = QPushButton("New app")
        self._new.setObjectName("newAppButton")
        self._remove = QPushButton("Remove…")
        self._remove.setObjectName("removeAppButton")
        list_buttons = QHBoxLayout()
        list_buttons.addWidget(self._new)
        list_buttons.addWidget(self._remove)
        list_buttons.addStretch(1)
        left = QVBoxLayout()
        left.addWidget(self._list, 1)
        left.addWidget(self._empty)
        left.addLayout(list_buttons)

        close = QPushButton("Close")
        close.setObjectName("closeButton")
        close.setAutoDefault(False)
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(close)

        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addWidget(self._build_editor(), 3)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(columns, 1)
        layout.addLayout(bottom)

    def _edit(self, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def _field(self, widget: QWidget, *below: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        for item in below:
            column.addWidget(item)
        return box

    def _file_row(self, edit: QLineEdit, button_name: str) -> QWidget:
        button = QPushButton("Browse…")
        button.setObjectName(button_name)
        button.setAutoDefault(False)
        button.clicked.connect(self._on_browse_clicked)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(edit, 1)
        layout.addWidget(button)
        return row

    def _build_editor(self) -> QGroupBox:
        self._group = QGroupBox("New app")
        self._provider = QComboBox()
        self._provider.setObjectName("appProviderCombo")
        self._provider.addItem("Microsoft (Outlook.com, Microsoft 365)", "microsoft")
        self._provider.addItem("Google (Gmail, Google Workspace)", "google")
        self._flow = QComboBox()
        self._flow.setObjectName("appFlowCombo")
        self._name = self._edit("appNameEdit", "Optional, e.g. Contoso sign-in")
        self._domains = self._edit("appDomainsEdit", "e.g. contoso.com, contoso.de")
        self._tenant = self._edit("appTenantEdit", "Directory (tenant) ID or the tenant's domain")
        self._client_id = self._edit("appClientIdEdit", "Application (client) ID")
        self._credential = QComboBox()
        self._credential.setObjectName("appCredentialCombo")
        self._credential.addItem("Client secret", _CREDENTIAL_SECRET)
        self._credential.addItem("Certificate (PEM with private key)", _CREDENTIAL_CERTIFICATE)
        self._secret = self._edit("appSecretEdit")
        self._secret.setEchoMode(QLineEdit.EchoMode.Password)
        self._certificate = self._edit("appCertificateEdit", "PEM file with the private key "
                                                             "and the certificate")
        self._key_file = self._edit("appKeyFileEdit", "The service account's JSON key file")
        self._client_email = QLabel()
        self._client_email.setObjectName("serviceAccountEmail")
        self._client_email.setWordWrap(True)
        self._client_email.setProperty("role", "hint")
        self._client_email.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        domains_hint = QLabel("Leave empty to serve every domain of this provider.")
        domains_hint.setProperty("role", "hint")
        domains_hint.setWordWrap(True)

        self._errors = {
            key: field_error_label(f"app{key[0].upper()}{key[1:]}Error")
            for key in ("domains", "tenant", "clientId", "secret", "certificate", "keyFile")
        }
        self._widgets: dict[str, QWidget] = {
            "domains": self._domains, "tenant": self._tenant, "clientId": self._client_id,
            "secret": self._secret, "certificate": self._certificate,
            "keyFile": self._key_file,
        }
        self._save = QPushButton("Save app")
        self._save.setObjectName("saveAppButton")
        self._save.setDefault(True)
        self._save_status = field_error_label("appSaveError")

        form = QFormLayout(self._group)
        form.addRow("&Provider:", self._provider)
        form.addRow("&Used for:", self._flow)
        form.addRow("&Name:", self._name)
        form.addRow("Mail &domains:", self._field(self._domains, self._errors["domains"],
                                                  domains_hint))
        self._tenant_box = self._field(self._tenant, self._errors["tenant"])
        form.addRow("&Tenant:", self._tenant_box)
        self._client_box = self._field(self._client_id, self._errors["clientId"])
        form.addRow("&Client ID:", self._client_box)
        form.addRow("Credentia&l:", self._credential)
        self._secret_box = self._field(self._secret, self._errors["secret"])
        form.addRow("Client &secret:", self._secret_box)
        self._certificate_box = self._field(
            self._file_row(self._certificate, "browseCertificateButton"),
            self._errors["certificate"])
        form.addRow("Cer&tificate:", self._certificate_box)
        self._key_box = self._field(self._file_row(self._key_file, "browseKeyFileButton"),
                                    self._errors["keyFile"], self._client_email)
        form.addRow("Service-account &key:", self._key_box)
        save_row = QWidget()
        save_layout = QHBoxLayout(save_row)
        save_layout.setContentsMargins(0, 0, 0, 0)
        save_layout.addWidget(self._save_status, 1)
        save_layout.addWidget(self._save)
        form.addRow("", save_row)
        self._form = form
        return self._group

    def _connect_signals(self) -> None:
        self._list.currentItemChanged.connect(self._on_app_selected)
        self._new.clicked.connect(self._on_new_clicked)
        self._remove.clicked.connect(self._on_remove_clicked)
        self._provider.currentIndexChanged.connect(self._on_provider_changed)
        self._flow.currentIndexChanged.connect(self._update_fields)
        self._credential.currentIndexChanged.connect(self._update_fields)
        self._key_file.editingFinished.connect(self._show_client_email)
        self._save.clicked.connect(self._on_save_clicked)

    # The list ------------------------------------------------------------------------------

    def _reload_list(self, select_key: str | None = None) -> None:
        self._list.blockSignals(True)
        self._list.clear()
        for app in self._tokens.apps.apps:
            domains = ", ".join(app.domains) or "all domains"
            title = app.name or app.client_id or app.key
            item = QListWidgetItem(
                f"{provider_label(app.provider)} · {_FLOW_SHORT[app.flow]}\n{title} · {domains}"
            )
            item.setData(Qt.ItemDataRole.UserRole, app.key)
            self._list.addItem(item)
            if app.key == select_key:
                self._list.setCurrentItem(item)
        self._list.blockSignals(False)
        empty = not self._tokens.apps.apps
        self._empty.setVisible(empty)
        self._remove.setEnabled(self._list.currentItem() is not None)

    def _on_app_selected(self, current: QListWidgetItem | None, _previous: object) -> None:
        self._remove.setEnabled(current is not None)
        if current is None:
            return
        app = self._tokens.apps.get(str(current.data(Qt.ItemDataRole.UserRole)))
        if app is not None:
            self._load_app(app)

    def _on_new_clicked(self) -> None:
        self._list.clearSelection()
        self._list.setCurrentRow(-1)
        self._start_new_app()

    # The editor ----------------------------------------------------------------------------

    def _start_new_app(self) -> None:
        self._editing = None
        self._group.setTitle("New app")
        self._provider.setEnabled(True)
        self._flow.setEnabled(True)
        for edit in (self._name, self._domains, self._tenant, self._client_id, self._secret,
                     self._certificate, self._key_file):
            edit.clear()
        self._secret.setPlaceholderText("")
        self._certificate.setPlaceholderText("PEM file with the private key and the certificate")
        self._key_file.setPlaceholderText("The service account's JSON key file")
        self._client_email.clear()
        self._fill_flows()
        self._clear_errors()
        self._update_fields()

    def _load_app(self, app: CompanyApp) -> None:
        self._editing = app
        self._group.setTitle(f"{provider_label(app.provider)} app")
        self._provider.blockSignals(True)
        self._provider.setCurrentIndex(self._provider.findData(app.provider))
        self._provider.blockSignals(False)
        # Provider and use are what the app registration is; a new one is a new app.
        self._provider.setEnabled(False)
        self._fill_flows(app.flow)
        self._flow.setEnabled(False)
        self._name.setText(app.name)
        self._domains.setText(", ".join(app.domains))
        self._tenant.setText(app.tenant)
        self._client_id.setText(app.client_id)
        self._credential.setCurrentIndex(self._credential.findData(
            _CREDENTIAL_CERTIFICATE if app.use_certificate else _CREDENTIAL_SECRET))
        for edit in (self._secret, self._certificate, self._key_file):
            edit.clear()
            edit.setPlaceholderText(_UNCHANGED)
        self._client_email.clear()
        if app.flow is OAuthFlow.DELEGATION:
            self._show_stored_client_email(app)
        self._clear_errors()
        self._update_fields()

    def _fill_flows(self, flow: OAuthFlow | None = None) -> None:
        self._flow.blockSignals(True)
        self._flow.clear()
        for value, label in _FLOWS[str(self._provider.currentData())]:
            self._flow.addItem(label, value.value)
        if flow is not None:
            self._flow.setCurrentIndex(self._flow.findData(flow.value))
        self._flow.blockSignals(False)

    def _on_provider_changed(self, _index: int) -> None:
        self._fill_flows()
        self._update_fields()

    def _current_flow(self) -> OAuthFlow:
        return OAuthFlow(str(self._flow.currentData()))

    def _update_fields(self) -> None:
        """Show only the fields this kind of app has."""
        provider = str(self._provider.currentData())
        flow = self._current_flow()
        app_only = flow is OAuthFlow.APP_ONLY
        certificate = app_only and self._credential.currentData() == _CREDENTIAL_CERTIFICATE
        google_desktop = provider == "google" and flow is OAuthFlow.INTERACTIVE
        form = self._form
        form.setRowVisible(self._tenant_box, provider == "microsoft")
        form.setRowVisible(self._client_box, flow is not OAuthFlow.DELEGATION)
        form.setRowVisible(self._credential, app_only)
        form.setRowVisible(self._secret_box, (app_only and not certificate) or google_desktop)
        form.setRowVisible(self._certificate_box, certificate)
        form.setRowVisible(self._key_box, flow is OAuthFlow.DELEGATION)
        if provider == "microsoft":
            self._tenant.setPlaceholderText(
                "Directory (tenant) ID or the tenant's domain"
                if app_only else "Optional: tenant ID; empty for any work account"
            )
        if google_desktop and self._editing is None:
            self._secret.setPlaceholderText("The desktop client's secret (optional)")
        elif self._editing is None:
            self._secret.setPlaceholderText("The secret's value (not its ID)")

    def _clear_errors(self) -> None:
        self._show_errors({})
        self._save_status.hide()

    def _show_errors(self, errors: dict[str, str]) -> None:
        for key, label in self._errors.items():
            message = errors.get(key, "")
            label.setText(message)
            label.setVisible(bool(message))
            set_problem(self._widgets[key], bool(message))

    def _on_browse_clicked(self) -> None:
        sender = self.sender()
        key_file = sender is not None and sender.objectName() == "browseKeyFileButton"
        target = self._key_file if key_file else self._certificate
        pattern = "JSON key (*.json);;All files (*)" if key_file else (
            "PEM files (*.pem *.crt *.key);;All files (*)"
        )
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", "", pattern)
        if path:
            target.setText(path)
            if key_file:
                self._show_client_email()

    def _show_client_email(self) -> None:
        path = self._key_file.text().strip()
        if not path:
            return
        try:
            key = parse_service_account_key(_read(path))
        except ValueError as exc:
            self._errors["keyFile"].setText(str(exc))
            self._errors["keyFile"].show()
            set_problem(self._key_file, True)
            self._client_email.clear()
            return
        self._errors["keyFile"].hide()
        set_problem(self._key_file, False)
        self._client_email.setText(f"Service account: {key.client_email}. Give its client ID "
                                   f"({key.client_id or 'see the key'}) domain-wide delegation "
                                   "in the Google Admin console.")

    def _show_stored_client_email(self, app: CompanyApp) -> None:
        try:
            stored = self._tokens.app_secrets.get(app, AppSecret.SERVICE_ACCOUNT_KEY)
        except SecretStoreError:
            stored = None
        if not stored:
            self._client_email.setText("The keyring holds no key for this service account; "
                                       "choose the key file again.")
            return
        try:
            key = parse_service_account_key(stored)
        except ValueError:
            return
        self._client_email.setText(f"Service account: {key.client_email}")

    # Saving and removing -------------------------------------------------------------------

    def _app_on_screen(self) -> CompanyApp:
        provider = str(self._provider.currentData())
        flow = self._current_flow()
        key = self._editing.key if self._editing else f"{provider}-{flow.value}-" + (
            uuid.uuid4().hex[:8]
        )
        domains = normalised_domains(self._domains.text().replace(",", " ").split())
        return CompanyApp(
            key=key,
            provider=provider,
            flow=flow,
            client_id="" if flow is OAuthFlow.DELEGATION else self._client_id.text().strip(),
            name=self._name.text().strip(),
            tenant=self._tenant.text().strip() if provider == "microsoft" else "",
            domains=domains,
            use_certificate=(flow is OAuthFlow.APP_ONLY
                             and self._credential.currentData() == _CREDENTIAL_CERTIFICATE),
        )

    def _secrets_on_screen(
        self, app: CompanyApp, errors: dict[str, str]
    ) -> dict[AppSecret, str]:
        """The secrets to write, each checked; a missing required one is an error unless
        the keyring already holds it for this app."""
        wanted: dict[AppSecret, str] = {}
        if app.flow is OAuthFlow.DELEGATION:
            self._file_secret(
                app, self._key_file, parse_service_account_key, AppSecret.SERVICE_ACCOUNT_KEY,
                "keyFile", "Choose the service account's JSON key file.", wanted, errors,
            )
        elif app.use_certificate:
            self._file_secret(
                app, self._certificate, parse_certificate, AppSecret.CERTIFICATE,
                "certificate", "Choose the PEM file with the key and the certificate.",
                wanted, errors,
            )
        else:
            secret = self._secret.text()
            if secret.strip():
                wanted[AppSecret.CLIENT_SECRET] = secret.strip()
            elif app.flow is OAuthFlow.APP_ONLY and not self._has_stored(
                    app, AppSecret.CLIENT_SECRET):
                errors["secret"] = "Enter the client secret's value."
        return wanted

    def _file_secret(
        self, app: CompanyApp, edit: QLineEdit, parse: Callable[[str], object],
        kind: AppSecret, field: str, missing: str,
        wanted: dict[AppSecret, str], errors: dict[str, str],
    ) -> None:
        """Read and check a secret kept in a file the admin chose (a key or certificate);
        an empty path is fine when the keyring already holds that secret for this app."""
        path = edit.text().strip()
        if path:
            try:
                text = _read(path)
                parse(text)
                wanted[kind] = text
            except ValueError as exc:
                errors[field] = str(exc)
        elif not self._has_stored(app, kind):
            errors[field] = missing

    def _has_stored(self, app: CompanyApp, kind: AppSecret) -> bool:
        if self._editing is None:
            return False
        try:
            return bool(self._tokens.app_secrets.get(app, kind))
        except SecretStoreError:
            return False

    def _on_save_clicked(self) -> None:
        app = self._app_on_screen()
        errors = app_field_problems(app)
        errors.pop("provider", None)
        wanted = self._secrets_on_screen(app, errors)
        self._show_errors(errors)
        if errors:
            self._show_status("Fix the highlighted fields, then save again.", error=True)
            return

        written: list[tuple[AppSecret, str | None]] = []
        secrets = self._tokens.app_secrets
        try:
            for kind, value in wanted.items():
                written.append((kind, secrets.get(app, kind)))
                secrets.put(app, kind, value)
        except SecretStoreError as exc:
            self._put_back(app, written)
            self._show_status(f"{exc} The app was not saved.", error=True)
            return

        apps = self._tokens.apps.with_app(app)
        try:
            save_company_apps(apps, company_apps_path(self._context))
        except OSError as exc:
            self._put_back(app, written)
            log.error("company sign-in apps could not be written: %s", type(exc).__name__)
            self._show_status(f"The settings file could not be written ({exc.strerror}). "
                              "The app was not saved.", error=True)
            return
        self._apply(apps)
        self._drop_unused_secrets(app)
        self._reload_list(app.key)
        self._load_app(app)
        self._show_status("Saved. Secrets are in the keyring.", error=False)
        log.info("company sign-in app %s saved (%s, %s)", app.key, app.provider, app.flow.value)

    def _put_back(self, app: CompanyApp, written: list[tuple[AppSecret, str | None]]) -> None:
        secrets = self._tokens.app_secrets
        for kind, previous in written:
            try:
                if previous is None:
                    secrets.delete(app, kind)
                else:
                    secrets.put(app, kind, previous)
            except SecretStoreError:
                log.error("could not put back the %s of app %s", kind.value, app.key)

    def _drop_unused_secrets(self, app: CompanyApp) -> None:
        """A switch from secret to certificate (or back) leaves the other one unused."""
        needed = set(app.secrets_needed())
        if app.flow is OAuthFlow.INTERACTIVE or not needed:
            return
        for kind in (AppSecret.CLIENT_SECRET, AppSecret.CERTIFICATE):
            if kind in needed or app.flow is not OAuthFlow.APP_ONLY:
                continue
            try:
                if self._tokens.app_secrets.get(app, kind):
                    self._tokens.app_secrets.delete(app, kind)
            except SecretStoreError:
                log.error("could not remove the unused %s of app %s", kind.value, app.key)

    def _apply(self, apps: CompanyApps) -> None:
        self._tokens.apps = apps
        # Tokens fetched with the old settings or secrets must not outlive them.
        self._tokens.cache.clear()
        self.apps_changed.emit()

    def _show_status(self, text: str, *, error: bool) -> None:
        self._save_status.setText(text)
        self._save_status.setProperty("role", "fieldError" if error else "hint")
        style = self._save_status.style()
        style.unpolish(self._save_status)
        style.polish(self._save_status)
        self._save_status.show()

    def _on_remove_clicked(self) -> None:
        item = self._list.currentItem()
        if item is None:
            return
        app = self._tokens.apps.get(str(item.data(Qt.ItemDataRole.UserRole)))
        if app is None:
            return
        self._pending_removal = app
        box = QMessageBox(QMessageBox.Icon.Question, "Remove company sign-in app",
                          f"Remove “{app.name or app.client_id or app.key}” and its secrets "
                          "from the keyring? Addresses that use it can no longer get tokens "
                          "until another app serves them.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self)
        box.setObjectName("confirmRemoveApp")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_remove_answered)
        box.open()

    def _on_remove_answered(self, answer: int) -> None:
        app, self._pending_removal = self._pending_removal, None
        if app is None or answer != QMessageBox.StandardButton.Yes:
            return
        apps = self._tokens.apps.without(app.key)
        try:
            save_company_apps(apps, company_apps_path(self._context))
        except OSError as exc:
            self._show_status(f"The settings file could not be written ({exc.strerror}). "
                              "Nothing was removed.", error=True)
            return
        try:
            self._tokens.app_secrets.delete_all(app)
        except SecretStoreError as exc:
            # The app is gone from the settings; a leftover secret is unused but reported.
            log.error("secrets of removed app %s stay in the keyring", app.key)
            self._show_status(f"{exc} Its secrets may remain in the keyring.", error=True)
        self._apply(apps)
        self._reload_list()
        self._start_new_app()
        log.info("company sign-in app %s removed", app.key)


def _read(path: str) -> str:
    """A key or certificate file's text; ValueError with a sentence when unreadable."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"The file could not be read: {exc.__class__.__name__}.") from exc
