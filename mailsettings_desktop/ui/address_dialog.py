"""The "Add external email address" dialog (and its Edit twin).

Save is enabled only while the last successful Test account vouches for exactly the
connection values on screen; for an address that signs in with OAuth2 those include the
sign-in method, the way a token is obtained and the account that signed in. The test runs
on the `CheckRunner`'s pool; the dialog keeps the id of the job it started and ignores
every other result, so a result that arrives after Cancel, after a field changed or after
the dialog closed does nothing. Interactive sign-ins run on the `SignInRunner` the same way.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import UTC, datetime

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core import address_book
from mailsettings_desktop.core.account_check import TokenSource
from mailsettings_desktop.core.check_result import (
    AUTH_OAUTH2,
    Category,
    CheckResult,
    Stage,
    Suggestion,
)
from mailsettings_desktop.core.list_queries import load_projects
from mailsettings_desktop.core.logs import redactor
from mailsettings_desktop.core.oauth import (
    AddressAuth,
    AuthMethod,
    CompanyApp,
    OAuthError,
    OAuthFlow,
    OAuthProvider,
    OAuthTarget,
    SignInCancelledError,
    SignInResult,
    SignInState,
)
from mailsettings_desktop.core.presets import CUSTOM_KEY, preset_by_key, preset_for_address
from mailsettings_desktop.core.records import (
    AddressDraft,
    AddressRecord,
    EmployeeRecord,
    TestStamp,
)
from mailsettings_desktop.core.secrets import SecretStoreError
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.test_message import TestMessage
from mailsettings_desktop.core.validation import (
    AddressForm,
    check_request,
    email_problem,
    username_differs_warning,
    validate_form,
)
from mailsettings_desktop.ui.context import AppContext
from mailsettings_desktop.ui.oauth_support import (
    FLOW_APP,
    FLOW_INTERACTIVE,
    app_flow_for,
    provider_label,
    sign_in_runner,
    token_service,
)
from mailsettings_desktop.ui.project_picker import CheckableList, ProjectPicker
from mailsettings_desktop.ui.style import ERROR_COLOR, field_error_label, set_problem

log = logging.getLogger(__name__)

# Which validation key belongs to which input widget's objectName.
_FIELD_WIDGETS = {
    "email": "emailEdit",
    "senderName": "senderNameEdit",
    "username": "usernameEdit",
    "password": "passwordEdit",
    "host": "hostEdit",
    "port": "portSpin",
    "security": "securityCombo",
    "timeout": "timeoutSpin",
    "replyTo": "replyToEdit",
}


MISSING_PASSWORD_TEXT = (
    "The saved password is missing from this computer's keyring (for example after moving "
    "to a new computer). Enter the password and test the account."
)
_CONNECTION_FIELDS = ("email", "username", "password", "host", "port", "security")
_APP_KINDS = {
    "microsoft": "Microsoft 365 app-only app",
    "google": "Google Workspace service account (domain-wide delegation)",
}


class AddressDialog(QDialog):
    """Add or edit one external address of one employee.

    Signals:
        address_saved(object): the `AddressRecord` as stored, after a successful Save.
    """

    address_saved = Signal(object)

    def __init__(
        self,
        context: AppContext,
        employee: EmployeeRecord | None,
        existing: AddressRecord | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`employee` None makes it the dialog of a company (shared) address."""
        super().__init__(parent)
        self._context = context
        self._employee = employee
        self._company = employee is None
        self._existing = existing
        self._job_id: int | None = None
        self._job_key: tuple[object, ...] | None = None
        self._job_sends_message = False
        self._verified_key: tuple[object, ...] | None = None
        self._last_stamp: TestStamp | None = None
        self._touched: set[str] = set()
        self._result_field: str | None = None  # the field the last test blamed
        self._result_key: tuple[object, ...] | None = None  # the values it blamed it for
        self._last_ok_result: CheckResult | None = None
        self._password_missing = False  # the keyring lost this address's password
        self._trusted_pin: str | None = existing.trusted_cert_sha256 if existing else None
        self._offered_pin: str | None = None
        self._username_follows_email = existing is None
        self._auto_domain = ""
        self._loading = True
        # OAuth2: how the saved address signs in, the sign-in running in the browser, and
        # a finished one that Save will keep (its refresh token goes to the keyring then).
        self._stored_auth = AddressAuth.from_options(existing.options) if existing else (
            AddressAuth()
        )
        self._stored_state: SignInState | None = None
        self._sign_in_job: int | None = None
        self._sign_in_app_key = ""
        self._sign_in_deadline = 0.0
        self._pending_sign_in: SignInResult | None = None
        self._pending_app_key = ""
        self._sign_in_serial = 0  # a new sign-in is a new connection value
        self._job_target: OAuthTarget | None = None

        self.setObjectName("addressDialog")
        kind = "company email address" if self._company else "external email address"
        self.setWindowTitle(f"Edit {kind}" if existing else f"Add {kind}")
        self.setModal(True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setSizeGripEnabled(True)
        self._build()
        self._connect_signals()
        self._load()
        self._loading = False
        self._refresh_state()

    # Building the form ---------------------------------------------------------------------

    def _build(self) -> None:
        self._banner = QLabel()
        self._banner.setObjectName("keyringWarning")
        self._banner.setWordWrap(True)
        banner_box = QFrame()
        banner_box.setObjectName("banner")
        QVBoxLayout(banner_box).addWidget(self._banner)
        self._banner_box = banner_box
        status = self._context.secrets.status()
        banner_box.setVisible(not status.usable)
        self._banner.setText(
            f"<b>Passwords cannot be saved on this computer:</b> {status.problem} "
            f"({status.backend_name}). You can test the account, but Save will refuse "
            "until a keyring is available."
        )

        intro = QLabel(
            "A <b>company address</b>, shared by the employees you choose"
            if self._employee is None else f"For <b>{_escape(self._employee.name)}</b>"
        )
        intro.setObjectName("dialogEmployee")

        form_area = QWidget()
        columns = QHBoxLayout(form_area)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.addLayout(self._build_left_column(), 3)
        columns.addWidget(self._build_projects_group(), 2)
        # The form scrolls rather than squeezing its rows when Details or a certificate
        # takes room below it, or the screen is small.
        scroll = QScrollArea()
        scroll.setObjectName("formScrollArea")
        scroll.setWidget(form_area)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_area.setMinimumHeight(form_area.sizeHint().height())

        layout = QVBoxLayout(self)
        layout.addWidget(banner_box)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self._build_result_box())
        layout.addLayout(self._build_buttons())
        self.resize(940, 760)

    def _line_edit(self, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        return edit

    def _with_error(self, field: QWidget, error: QLabel, *extra: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(field)
        column.addWidget(error)
        for widget in extra:
            column.addWidget(widget)
        return box

    def _build_left_column(self) -> QVBoxLayout:
        self._provider = QComboBox()
        self._provider.setObjectName("providerCombo")
        for preset in self._context.presets:
            self._provider.addItem(preset.name, preset.key)
        self._provider.addItem("Other server", CUSTOM_KEY)
        self._provider_note = QLabel()
        self._provider_note.setObjectName("providerNote")
        self._provider_note.setWordWrap(True)
        self._provider_note.setProperty("role", "hint")

        self._email = self._line_edit("emailEdit", "name@company.com")
        self._sender_name = self._line_edit(
            "senderNameEdit", "Shown to recipients, e.g. Anna Ivanova"
        )
        self._username = self._line_edit("usernameEdit", "Usually the full email address")
        self._password = self._line_edit("passwordEdit")
        self._password.setEchoMode(QLineEdit.EchoMode.Password)
        self._password.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self._show_password = QToolButton()
        self._show_password.setObjectName("showPasswordButton")
        self._show_password.setText("Show")
        self._show_password.setCheckable(True)
        self._show_password.setToolTip("Show or hide the password")
        password_row = QWidget()
        password_layout = QHBoxLayout(password_row)
        password_layout.setContentsMargins(0, 0, 0, 0)
        password_layout.addWidget(self._password, 1)
        password_layout.addWidget(self._show_password)

        self._host = self._line_edit("hostEdit", "smtp.example.com")
        self._port = QSpinBox()
        self._port.setObjectName("portSpin")
        self._port.setRange(1, 65535)
        self._port.setValue(587)
        self._security = QComboBox()
        self._security.setObjectName("securityCombo")
        for mode in Security:
            self._security.addItem(mode.label, mode.value)
        # "Other server" starts on the usual submission pair, STARTTLS on port 587.
        self._security.setCurrentIndex(self._security.findData(Security.STARTTLS.value))
        self._timeout = QSpinBox()
        self._timeout.setObjectName("timeoutSpin")
        self._timeout.setRange(1, 300)
        self._timeout.setValue(20)
        self._timeout.setSuffix(" s")
        self._timeout.setToolTip("How long Test account waits for the server in all")

        self._reply_to = self._line_edit("replyToEdit", "Optional: where replies should go")
        self._default = QCheckBox(
            "Company default address" if self._company else "Default address for this employee"
        )
        self._default.setObjectName("defaultCheck")
        self._signature = QPlainTextEdit()
        self._signature.setObjectName("signatureEdit")
        self._signature.setPlaceholderText("Optional plain-text signature added to messages")
        self._signature.setTabChangesFocus(True)
        self._signature.setFixedHeight(64)

        self._auth_method = QComboBox()
        self._auth_method.setObjectName("authMethodCombo")
        self._auth_method.setToolTip("How this address signs in to its mail server")
        self._oauth_flow = QComboBox()
        self._oauth_flow.setObjectName("oauthFlowCombo")
        self._oauth_flow.setToolTip(
            "The employee signs in once in the browser, or the company's own sign-in app "
            "gets tokens without the employee (set up in Company sign-in apps)."
        )

        self._errors = {key: field_error_label(f"{key}Error") for key in _FIELD_WIDGETS}
        self._username_note = field_error_label("usernameWarning", "fieldWarning")
        self._security_note = field_error_label("securityWarning", "fieldWarning")
        self._security_note.setText(
            "Without encryption the password and messages cross the network readable by "
            "anyone on the way. Use SSL/TLS or STARTTLS unless the server is on your own "
            "network."
        )

        account = QGroupBox("Account")
        form = QFormLayout(account)
        form.addRow("&Provider:", self._with_error(self._provider, QLabel(), self._provider_note))
        form.addRow("&Email address:", self._with_error(self._email, self._errors["email"]))
        form.addRow("Sender &name:",
                    self._with_error(self._sender_name, self._errors["senderName"]))
        form.addRow("&Username:", self._with_error(
            self._username, self._errors["username"], self._username_note))
        form.addRow("Sign in &with:", self._auth_method)
        self._password_box = self._with_error(password_row, self._errors["password"])
        form.addRow("Pass&word:", self._password_box)
        form.addRow("Who signs &in:", self._oauth_flow)
        form.addRow("", self._build_sign_in_box())
        self._account_form = form

        server = QGroupBox("Outgoing mail server (SMTP)")
        server_form = QFormLayout(server)
        server_form.addRow("&Server:", self._with_error(self._host, self._errors["host"]))
        port_row = QWidget()
        port_layout = QHBoxLayout(port_row)
        port_layout.setContentsMargins(0, 0, 0, 0)
        port_layout.addWidget(self._port)
        port_layout.addSpacing(12)
        security_label = QLabel("Se&curity:")
        security_label.setBuddy(self._security)
        port_layout.addWidget(security_label)
        port_layout.addWidget(self._security, 1)
        port_layout.addSpacing(12)
        timeout_label = QLabel("&Timeout:")
        timeout_label.setBuddy(self._timeout)
        port_layout.addWidget(timeout_label)
        port_layout.addWidget(self._timeout)
        server_form.addRow("P&ort:", self._with_error(
            port_row, self._errors["port"], self._errors["security"], self._errors["timeout"],
            self._security_note))

        self._pin_label = QLabel()
        self._pin_label.setObjectName("trustedCertLabel")
        self._pin_label.setWordWrap(True)
        self._pin_label.setProperty("role", "hint")
        self._forget_pin = QPushButton("Stop trusting it")
        self._forget_pin.setObjectName("forgetCertButton")
        pin_row = QWidget()
        pin_layout = QHBoxLayout(pin_row)
        pin_layout.setContentsMargins(0, 0, 0, 0)
        pin_layout.addWidget(self._pin_label, 1)
        pin_layout.addWidget(self._forget_pin)
        self._pin_row = pin_row
        server_form.addRow("", pin_row)

        options = QGroupBox("Options")
        options_form = QFormLayout(options)
        options_form.addRow(
            "&Reply-to:", self._with_error(self._reply_to, self._errors["replyTo"])
        )
        options_form.addRow("Si&gnature:", self._signature)
        options_form.addRow("", self._default)

        column = QVBoxLayout()
        column.addWidget(account)
        column.addWidget(server)
        column.addWidget(options)
        column.addStretch(1)
        return column

    def _build_sign_in_box(self) -> QWidget:
        """The OAuth2 panel: sign in now (with Cancel and a countdown), who signed in, and
        which company sign-in app serves the address."""
        self._sign_in = QPushButton("Sign in…")
        self._sign_in.setObjectName("signInButton")
        self._sign_in.setAutoDefault(False)
        self._cancel_sign_in = QPushButton("Cancel sign-in")
        self._cancel_sign_in.setObjectName("cancelSignInButton")
        self._cancel_sign_in.setAutoDefault(False)
        self._cancel_sign_in.hide()
        self._company_apps_button = QPushButton("Company sign-in apps…")
        self._company_apps_button.setObjectName("companyAppsButton")
        self._company_apps_button.setAutoDefault(False)
        self._sign_in_status = QLabel()
        self._sign_in_status.setObjectName("signInStatus")
        self._sign_in_status.setWordWrap(True)
        self._sign_in_status.hide()
        self._signed_in = QLabel()
        self._signed_in.setObjectName("signedInAccount")
        self._signed_in.setWordWrap(True)
        self._signed_in.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._company_app_note = QLabel()
        self._company_app_note.setObjectName("companyAppNote")
        self._company_app_note.setWordWrap(True)
        self._sign_in_timer = QTimer(self)
        self._sign_in_timer.setInterval(1000)

        buttons = QWidget()
        row = QHBoxLayout(buttons)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self._sign_in)
        row.addWidget(self._cancel_sign_in)
        row.addStretch(1)
        row.addWidget(self._company_apps_button)
        self._sign_in_box = self._with_error(
            buttons, self._sign_in_status, self._signed_in, self._company_app_note
        )
        return self._sign_in_box

    def _build_projects_group(self) -> QWidget:
        group = QGroupBox("Projects that use this address")
        self._projects = ProjectPicker()
        self._conflicts = field_error_label("projectConflicts", "fieldWarning")
        self._move_projects = QCheckBox("Move them to this address when saving")
        self._move_projects.setObjectName("moveProjectsCheck")
        self._move_projects.setChecked(True)
        self._move_projects.hide()
        layout = QVBoxLayout(group)
        layout.addWidget(self._projects)
        layout.addWidget(self._conflicts)
        layout.addWidget(self._move_projects)
        if not self._company:
            return group

        allowed = QGroupBox("Employees who may send from it")
        self._all_employees = QCheckBox("All employees")
        self._all_employees.setObjectName("allEmployeesCheck")
        self._allowed = CheckableList(
            "allowedEmployee", "employees", "No employees yet.", "may use it"
        )
        allowed_layout = QVBoxLayout(allowed)
        allowed_layout.addWidget(self._all_employees)
        allowed_layout.addWidget(self._allowed)
        self._all_employees.toggled.connect(self._allowed.setDisabled)
        self._all_employees.toggled.connect(self._allowed.set_all_selected)
        column = QWidget()
        column_layout = QVBoxLayout(column)
        column_layout.setContentsMargins(0, 0, 0, 0)
        column_layout.addWidget(group, 1)
        column_layout.addWidget(allowed, 1)
        return column

    def _load_allowed_employees(self, record: AddressRecord | None) -> None:
        employees = self._context.db.list_employees()
        allowed = record.allowed_employee_ids if record else ()
        self._allowed.set_items(((e.id, e.name) for e in employees), allowed)
        self._all_employees.setChecked(record.all_employees if record else True)

    def _update_conflicts(self) -> None:
        """Say which ticked projects another address of this employee already serves."""
        if self._employee is None:
            return
        conflicts = self._context.db.project_conflicts(
            self._employee.id, self._projects.checked_ids(),
            self._existing.id if self._existing else None,
        )
        if not conflicts:
            self._conflicts.hide()
            self._move_projects.hide()
            return
        names = {p.id: p.name for p in self._context.db.list_projects()}
        lines = [
            f"“{names.get(project_id, project_id)}” is already sent from {address.email}."
            for project_id, address in sorted(conflicts.items())
        ]
        self._conflicts.setText(
            " ".join(lines) + " A project is sent from one address per employee."
        )
        self._conflicts.show()
        self._move_projects.show()

    def _build_result_box(self) -> QFrame:
        box = QFrame()
        box.setObjectName("resultBox")
        box.setProperty("state", "idle")
        self._result_box = box
        self._status = QLabel()
        self._status.setObjectName("testStatus")
        self._status.setWordWrap(True)
        self._status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._progress = QProgressBar()
        self._progress.setObjectName("testProgress")
        self._progress.setRange(0, 0)
        self._progress.setMaximumHeight(10)
        self._progress.setTextVisible(False)
        self._progress.hide()
        self._cancel_test = QPushButton("Stop test")
        self._cancel_test.setObjectName("cancelTestButton")
        self._cancel_test.hide()
        self._suggestion = QPushButton()
        self._suggestion.setObjectName("suggestionButton")
        self._suggestion.hide()
        self._details_toggle = QToolButton()
        self._details_toggle.setObjectName("detailsButton")
        self._details_toggle.setText("Details")
        self._details_toggle.setCheckable(True)
        self._details_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._details_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self._details_toggle.hide()
        self._copy_details = QPushButton("Copy details")
        self._copy_details.setObjectName("copyDetailsButton")
        self._copy_details.hide()
        self._certificate = QLabel()
        self._certificate.setObjectName("certificateInfo")
        self._certificate.setWordWrap(True)
        self._certificate.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._certificate.hide()
        self._trust_cert = QPushButton("Trust this certificate for this server")
        self._trust_cert.setObjectName("trustCertButton")
        self._trust_cert.setToolTip(
            "Accept exactly this certificate, only for this address and server. If the "
            "server ever presents another one, the test fails with a warning."
        )
        self._trust_cert.hide()
        self._recipient = QLineEdit()
        self._recipient.setObjectName("testRecipientEdit")
        self._recipient.setPlaceholderText("Recipient, e.g. your own mailbox")
        self._send_message = QPushButton("Send test message")
        self._send_message.setObjectName("sendTestMessageButton")
        self._send_message.setToolTip("Optional: sends a short message from this address")
        self._recipient_error = field_error_label("testRecipientError")
        send_row = QWidget()
        send_layout = QHBoxLayout(send_row)
        send_layout.setContentsMargins(0, 0, 0, 0)
        send_layout.addWidget(QLabel("Send a test message to:"))
        send_layout.addWidget(self._recipient, 1)
        send_layout.addWidget(self._send_message)
        self._send_row = send_row
        send_row.hide()
        self._details = QPlainTextEdit()
        self._details.setObjectName("detailsText")
        self._details.setReadOnly(True)
        self._details.setMaximumHeight(150)
        self._details.hide()

        top = QHBoxLayout()
        top.addWidget(self._status, 1)
        top.addWidget(self._cancel_test, 0, Qt.AlignmentFlag.AlignTop)
        actions = QHBoxLayout()
        actions.addWidget(self._suggestion)
        actions.addWidget(self._trust_cert)
        actions.addWidget(self._details_toggle)
        actions.addStretch(1)
        actions.addWidget(self._copy_details)
        layout = QVBoxLayout(box)
        layout.addLayout(top)
        layout.addWidget(self._progress)
        layout.addWidget(self._certificate)
        layout.addLayout(actions)
        layout.addWidget(self._details)
        layout.addWidget(send_row)
        layout.addWidget(self._recipient_error)
        return box

    def _build_buttons(self) -> QHBoxLayout:
        self._test = QPushButton("Test account")
        self._test.setObjectName("testButton")
        self._test.setToolTip(
            "Connects to the server, signs in and checks the sender address. "
            "Nothing is sent."
        )
        self._save = QPushButton("Save")
        self._save.setObjectName("saveButton")
        self._cancel = QPushButton("Cancel")
        self._cancel.setObjectName("cancelButton")
        self._save_error = field_error_label("saveError")
        row = QHBoxLayout()
        row.addWidget(self._test)
        row.addWidget(self._save_error, 1)
        row.addStretch(0)
        row.addWidget(self._cancel)
        row.addWidget(self._save)
        self._test.setAutoDefault(False)
        self._cancel.setAutoDefault(False)
        self._save.setAutoDefault(False)
        return row

    def _connect_signals(self) -> None:
        self._provider.currentIndexChanged.connect(self._on_provider_changed)
        self._email.textChanged.connect(self._on_email_changed)
        self._username.textEdited.connect(self._on_username_edited)
        self._show_password.toggled.connect(self._on_show_password)
        self._security.currentIndexChanged.connect(self._on_security_changed)
        for edit in (self._email, self._sender_name, self._username, self._password,
                     self._host, self._reply_to):
            edit.textChanged.connect(self._refresh_state)
            edit.editingFinished.connect(self._on_field_left)
        for spin in (self._port, self._timeout):
            spin.valueChanged.connect(self._refresh_state)
            spin.editingFinished.connect(self._on_field_left)
        self._security.currentIndexChanged.connect(self._refresh_state)
        self._default.toggled.connect(self._refresh_state)
        self._signature.textChanged.connect(self._refresh_state)
        self._projects.selection_changed.connect(self._refresh_state)
        self._projects.selection_changed.connect(self._update_conflicts)
        self._test.clicked.connect(self._on_test_clicked)
        self._cancel_test.clicked.connect(self._on_cancel_test_clicked)
        self._save.clicked.connect(self._on_save_clicked)
        self._cancel.clicked.connect(self.reject)
        self._suggestion.clicked.connect(self._on_suggestion_clicked)
        self._trust_cert.clicked.connect(self._on_trust_cert_clicked)
        self._send_message.clicked.connect(self._on_send_message_clicked)
        self._recipient.returnPressed.connect(self._on_send_message_clicked)
        self._forget_pin.clicked.connect(self._on_forget_pin_clicked)
        self._details_toggle.toggled.connect(self._on_details_toggled)
        self._copy_details.clicked.connect(self._on_copy_details)
        self._context.runner.job_progressed.connect(self._on_job_progressed)
        self._context.runner.job_finished.connect(self._on_job_finished)
        self._auth_method.currentIndexChanged.connect(self._on_auth_method_changed)
        self._oauth_flow.currentIndexChanged.connect(self._on_auth_method_changed)
        self._sign_in.clicked.connect(self._on_sign_in_clicked)
        self._cancel_sign_in.clicked.connect(self._on_cancel_sign_in_clicked)
        self._company_apps_button.clicked.connect(self._on_company_apps_clicked)
        self._sign_in_timer.timeout.connect(self._on_sign_in_tick)
        sign_in_runner().sign_in_ended.connect(self._on_sign_in_ended)

    def _load(self) -> None:
        record = self._existing
        projects = load_projects(self._context.db.engine)
        if self._company:
            self._load_allowed_employees(record)
        if record is None:
            self._projects.set_projects(projects)
            # "Other server" with empty fields: nothing points at a real provider until
            # the admin picks one or types an address whose domain selects one.
            self._select_provider(CUSTOM_KEY)
            self._default.setChecked(
                self._employee is not None
                and not self._context.db.addresses_for_employee(self._employee.id)
            )
            self._show_idle("Fill in the account, then click Test account. Save unlocks "
                            "when the test succeeds.")
            return
        self._select_provider(record.provider_key, fill=False)
        self._email.setText(record.email)
        self._sender_name.setText(record.sender_name)
        self._username.setText(record.username)
        self._password.setPlaceholderText("Unchanged (kept in the keyring)")
        self._host.setText(record.host)
        self._port.setValue(record.port)
        self._security.setCurrentIndex(self._security.findData(record.security.value))
        self._timeout.setValue(record.timeout_seconds)
        self._reply_to.setText(record.reply_to)
        self._default.setChecked(record.is_default)
        self._signature.setPlainText(str(record.options.get("signature", "")))
        self._projects.set_projects(projects, [p.id for p in record.projects])
        if self._stored_auth.method is AuthMethod.OAUTH2:
            self._stored_state = token_service(self._context).sign_in_state(
                self._oauth_target()
            )
        self._verified_key = self._connection_key()
        if self._stored_auth.method is not AuthMethod.OAUTH2 and not self._stored_password():
            # Nothing vouches for this address any more: a password must be typed and
            # tested before anything is saved, or the row would point at nothing.
            self._verified_key = None
            self._password_missing = True
            self._touched.add("password")
            self._password.setPlaceholderText("Missing: enter the password")
            self._show_idle("Enter the password, then click Test account. Save unlocks when "
                            "the test succeeds.")
            return
        self._show_idle("Changing the address, username, password or server needs a new "
                        "successful test before Save.")

    def _stored_password(self) -> str | None:
        """The saved password, or None when the keyring has none (or cannot be read)."""
        assert self._existing is not None
        try:
            return self._context.secrets.get(self._existing.secret_key)
        except SecretStoreError:
            log.warning("could not read the saved password of address %d", self._existing.id)
            return None

    # Reading the form ----------------------------------------------------------------------

    def form(self) -> AddressForm:
        return AddressForm(
            email=self._email.text(),
            sender_name=self._sender_name.text().strip(),
            username=self._username.text(),
            password=self._password.text(),
            host=self._host.text(),
            port=self._port.value(),
            security=Security(self._security.currentData()),
            timeout_seconds=self._timeout.value(),
            reply_to=self._reply_to.text().strip(),
            provider_key=str(self._provider.currentData()),
            trusted_cert_sha256=self._trusted_pin,
        )

    def _connection_key(self) -> tuple[object, ...]:
        form = self.form()
        oauth = self._uses_oauth()
        return (
            form.email.strip().lower(),
            form.effective_username,
            "" if oauth else form.password,
            form.host.strip().rstrip(".").lower(),
            form.port,
            form.security,
            form.trusted_cert_sha256,
            self._auth_method.currentData(),
            self._sign_in_marker() if oauth else None,
        )

    def _sign_in_marker(self) -> tuple[object, ...]:
        """What a test with OAuth2 vouched for: the way, and who signed in (or which
        company app gets the token)."""
        if self._flow_choice() == FLOW_APP:
            app = self._company_app()
            return (FLOW_APP, app.key if app else "")
        return (FLOW_INTERACTIVE, self._sign_in_serial, self._current_auth().account)

    def _field_errors(self) -> dict[str, str]:
        oauth = self._uses_oauth()
        # A password is needed for a new address, and when a saved OAuth2 address goes
        # back to a password (it has none in the keyring).
        needs_password = not oauth and (
            self._existing is None or self._stored_auth.method is AuthMethod.OAUTH2
        )
        errors = validate_form(self.form(), password_required=needs_password)
        if oauth:
            errors.pop("password", None)
        elif self._password_missing and not self._password.text():
            errors["password"] = MISSING_PASSWORD_TEXT
        return errors

    def _widget_for(self, key: str) -> QWidget:
        widget = self.findChild(QWidget, _FIELD_WIDGETS[key])
        assert widget is not None
        return widget

    def _show_errors(self, errors: dict[str, str], keys: set[str]) -> None:
        # The field the last test blamed stays marked only while the values are unchanged.
        blamed = (
            self._result_field
            if self._result_field and self._result_key == self._connection_key() else None
        )
        for key, label in self._errors.items():
            message = errors.get(key) if key in keys else None
            label.setText(message or "")
            label.setVisible(bool(message))
            set_problem(self._widget_for(key), bool(message) or key == blamed)

    # Field handlers ------------------------------------------------------------------------

    def _select_provider(self, key: str, fill: bool = True) -> None:
        index = self._provider.findData(key)
        if index < 0:
            index = self._provider.findData(CUSTOM_KEY)
        self._provider.blockSignals(True)
        self._provider.setCurrentIndex(index)
        self._provider.blockSignals(False)
        self._apply_provider(fill)

    def _on_provider_changed(self, _index: int) -> None:
        self._apply_provider(fill=True)
        self._refresh_state()

    def _apply_provider(self, fill: bool) -> None:
        preset = preset_by_key(str(self._provider.currentData()), self._context.presets)
        self._fill_auth_choices(fill)
        if preset is None:
            self._provider_note.setText("Enter the server settings your mail provider gives.")
            return
        note = preset.note
        if preset.sources.get("server"):
            note += f' <a href="{preset.sources["server"]}">Provider\'s settings page</a>'
        self._provider_note.setText(note)
        self._provider_note.setOpenExternalLinks(True)
        if fill:
            self._host.setText(preset.host)
            self._port.setValue(preset.port)
            self._security.setCurrentIndex(self._security.findData(preset.security.value))

    def _fill_auth_choices(self, fill: bool) -> None:
        """The sign-in methods and ways the chosen preset supports; a new choice of
        provider starts with its default, a saved address with what it uses."""
        preset = preset_by_key(str(self._provider.currentData()), self._context.presets)
        options = preset.auth if preset else None
        methods = options.methods if options else (AuthMethod.PASSWORD,)
        stored = self._stored_auth if self._existing is not None and not fill else None
        method = stored.method if stored and stored.method in methods else (
            options.default if options else AuthMethod.PASSWORD
        )
        self._auth_method.blockSignals(True)
        self._auth_method.clear()
        for item in methods:
            self._auth_method.addItem(item.label, item.value)
        self._auth_method.setCurrentIndex(self._auth_method.findData(method.value))
        self._auth_method.blockSignals(False)

        provider = options.provider if options else None
        self._oauth_flow.blockSignals(True)
        self._oauth_flow.clear()
        self._oauth_flow.addItem("The employee signs in now (in the browser)", FLOW_INTERACTIVE)
        if provider is not None and set(provider.flows) - {OAuthFlow.INTERACTIVE}:
            kind = "Microsoft 365 app-only" if provider.name == "microsoft" else (
                "Google Workspace delegation"
            )
            self._oauth_flow.addItem(f"The company's sign-in app ({kind})", FLOW_APP)
        wanted = FLOW_APP if stored and stored.flow is not OAuthFlow.INTERACTIVE else (
            FLOW_INTERACTIVE
        )
        self._oauth_flow.setCurrentIndex(max(0, self._oauth_flow.findData(wanted)))
        self._oauth_flow.setEnabled(self._oauth_flow.count() > 1)
        self._oauth_flow.blockSignals(False)
        if fill:
            # A sign-in belongs to the provider it was made with.
            self._drop_sign_in()

    def _on_auth_method_changed(self, _index: int) -> None:
        self._show_idle("Fill in the account, then click Test account. Save unlocks "
                        "when the test succeeds.")
        self._refresh_state()

    def _on_email_changed(self, text: str) -> None:
        if self._username_follows_email:
            self._username.setText(text.strip())
        _, at, domain = text.strip().rpartition("@")
        domain = domain.lower() if at else ""
        if domain and domain != self._auto_domain:
            preset = preset_for_address(text, self._context.presets)
            if preset is not None:
                self._auto_domain = domain
                if self._provider.currentData() != preset.key:
                    self._select_provider(preset.key)

    def _on_username_edited(self, text: str) -> None:
        self._username_follows_email = text.strip() == self._email.text().strip()

    def _on_show_password(self, shown: bool) -> None:
        self._password.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self._show_password.setText("Hide" if shown else "Show")

    def _on_security_changed(self, _index: int) -> None:
        security = Security(self._security.currentData())
        usual_ports = {mode.usual_port for mode in Security}
        if not self._loading and self._port.value() in usual_ports:
            self._port.setValue(security.usual_port)

    def _on_field_left(self) -> None:
        sender = self.sender()
        for key, name in _FIELD_WIDGETS.items():
            if sender is not None and sender.objectName() == name:
                self._touched.add(key)
        self._show_errors(self._field_errors(), self._touched)

    # State ---------------------------------------------------------------------------------

    def _refresh_state(self) -> None:
        if self._loading:
            return
        form = self.form()
        self._security_note.setVisible(form.security is Security.NONE)
        self._pin_row.setVisible(self._trusted_pin is not None)
        if self._trusted_pin:
            self._pin_label.setText(
                f"Trusted certificate for this server: SHA-256 {self._trusted_pin[:23]}…"
            )
        warning = username_differs_warning(form)
        self._username_note.setText(warning or "")
        self._username_note.setVisible(bool(warning))
        errors = self._field_errors()
        self._show_errors(errors, self._touched)
        testing = self._job_id is not None
        signing_in = self._sign_in_job is not None
        self._update_sign_in_panel(testing)
        verified = self._verified_key is not None and self._verified_key == self._connection_key()
        self._save.setEnabled(verified and not errors and not testing and not signing_in)
        self._save.setToolTip(
            "" if self._save.isEnabled()
            else "Save unlocks when Test account succeeds with the values on screen."
        )
        self._test.setEnabled(not testing and not signing_in)
        self._send_row.setVisible(verified and not testing)
        if (
            not testing
            and self._verified_key is not None
            and not verified
            and self._result_box.property("state") == "ok"
        ):
            self._show_idle("The connection values changed since the last successful test. "
                            "Test the account again to enable Save.")
        elif verified and not testing and self._last_ok_result is not None and (
            self._result_box.property("state") == "idle"
        ):
            # Back to exactly the tested values: the earlier success holds again.
            self._show_result(self._last_ok_result)

    def _set_box_state(self, state: str) -> None:
        if self._result_box.property("state") == state:
            return  # re-polishing a styled widget costs milliseconds
        self._result_box.setProperty("state", state)
        style = self._result_box.style()
        style.unpolish(self._result_box)
        style.polish(self._result_box)

    def _show_idle(self, text: str) -> None:
        self._set_box_state("idle")
        self._status.setText(text)
        self._progress.hide()
        self._cancel_test.hide()
        self._suggestion.hide()
        self._details_toggle.hide()
        self._details_toggle.setChecked(False)
        self._copy_details.hide()
        self._certificate.hide()
        self._trust_cert.hide()
        self._result_field = None
        self._show_errors(self._field_errors(), self._touched)

    # OAuth2 ---------------------------------------------------------------------------------

    def _uses_oauth(self) -> bool:
        return bool(self._auth_method.currentData() == AuthMethod.OAUTH2.value)

    def _flow_choice(self) -> str:
        return str(self._oauth_flow.currentData() or FLOW_INTERACTIVE)

    def _oauth_provider(self) -> OAuthProvider | None:
        preset = preset_by_key(str(self._provider.currentData()), self._context.presets)
        return preset.auth.provider if preset else None

    def _flow(self) -> OAuthFlow:
        provider = self._oauth_provider()
        if self._flow_choice() == FLOW_APP and provider is not None:
            return app_flow_for(provider.name)
        return OAuthFlow.INTERACTIVE

    def _stored_sign_in_applies(self) -> bool:
        """Whether the saved address's own sign-in is what the screen shows."""
        return (
            self._existing is not None
            and self._stored_auth.method is AuthMethod.OAUTH2
            and self._stored_auth.flow is OAuthFlow.INTERACTIVE
            and self._flow() is OAuthFlow.INTERACTIVE
            and self._provider.currentData() == self._existing.provider_key
        )

    def _current_auth(self) -> AddressAuth:
        """The `options["auth"]` to save for the values on screen."""
        flow = self._flow()
        if flow is not OAuthFlow.INTERACTIVE:
            app = self._company_app()
            return AddressAuth(AuthMethod.OAUTH2, flow, app.key if app else "")
        if self._pending_sign_in is not None:
            return AddressAuth(AuthMethod.OAUTH2, flow, self._pending_app_key,
                               self._pending_sign_in.account)
        if self._stored_sign_in_applies():
            return self._stored_auth
        return AddressAuth(AuthMethod.OAUTH2, flow)

    def _oauth_target(self) -> OAuthTarget:
        key = self._existing.secret_key if self._existing else ""
        return OAuthTarget(key, self._email.text().strip(), str(self._provider.currentData()),
                           self._current_auth())

    def _company_app(self) -> CompanyApp | None:
        """The company app that would serve the address with the way chosen on screen."""
        provider = self._oauth_provider()
        if provider is None:
            return None
        apps = token_service(self._context).apps
        flow = self._flow()
        stored = self._stored_auth
        if self._existing is not None and stored.flow is flow and stored.app_key:
            app = apps.get(stored.app_key)
            if app is not None:
                return app
        return apps.find(provider.name, flow, self._email.text())

    def _update_sign_in_panel(self, testing: bool) -> None:
        oauth = self._uses_oauth()
        form = self._account_form
        form.setRowVisible(self._auth_method, self._auth_method.count() > 1)
        form.setRowVisible(self._password_box, not oauth)
        form.setRowVisible(self._oauth_flow, oauth)
        form.setRowVisible(self._sign_in_box, oauth)
        if not oauth:
            return
        provider = self._oauth_provider()
        name = provider_label(provider.name) if provider else "the provider"
        signing_in = self._sign_in_job is not None
        interactive = self._flow() is OAuthFlow.INTERACTIVE
        self._sign_in.setVisible(interactive)
        self._sign_in.setEnabled(not signing_in and not testing)
        self._cancel_sign_in.setVisible(signing_in)
        self._sign_in_status.setVisible(signing_in)
        self._signed_in.setVisible(interactive and not signing_in)
        app = self._company_app()
        if not interactive:
            kind = _APP_KINDS.get(provider.name if provider else "", "company sign-in app")
            if app is None:
                domain = self._email.text().strip().rpartition("@")[2] or "this address"
                self._set_note(self._company_app_note,
                               f"No {kind} serves {domain} yet: add it in Company sign-in "
                               "apps.", "fieldWarning")
            else:
                self._set_note(self._company_app_note,
                               f"Gets tokens from the company's {kind} "
                               f"“{app.name or app.client_id or app.key}”, without the "
                               "employee.", "hint")
            return
        if app is None:
            self._set_note(self._company_app_note,
                           f"No sign-in app for {name} is set up yet: add its client ID in "
                           "Company sign-in apps before signing in.", "fieldWarning")
        else:
            self._company_app_note.hide()
        text, role, again = self._sign_in_state_text()
        self._set_note(self._signed_in, text, role)
        self._signed_in.setVisible(not signing_in)
        self._sign_in.setText(f"Sign in again with {name}…" if again
                              else f"Sign in with {name}…")

    def _sign_in_state_text(self) -> tuple[str, str, bool]:
        """What the panel says about who signed in: text, label role, and whether the
        employee must sign in again."""
        email = self._email.text().strip()
        account = ""
        if self._pending_sign_in is not None:
            account = self._pending_sign_in.account or email
        elif self._stored_sign_in_applies():
            state = self._stored_state
            if state is SignInState.SIGN_IN_AGAIN:
                return ("Sign in again: the saved sign-in has expired or was revoked. "
                        "Nothing is sent from this address until the employee signs in.",
                        "fieldWarning", True)
            if state is SignInState.APP_MISSING:
                return ("The company sign-in app this address used is gone. Add it again "
                        "in Company sign-in apps, or sign in again.", "fieldWarning", True)
            account = self._stored_auth.account or email
        if not account:
            return ("Not signed in yet: the employee signs in once in the browser.",
                    "hint", False)
        if email and account.casefold() != email.casefold():
            return (f"Signed in as {account}, which is not {email}: the server may refuse "
                    "to send as this address.", "fieldWarning", False)
        return (f"Signed in as {account}.", "", False)

    @staticmethod
    def _set_note(label: QLabel, text: str, role: str) -> None:
        label.setText(text)
        label.show()
        if label.property("role") != role:
            label.setProperty("role", role)
            style = label.style()
            style.unpolish(label)
            style.polish(label)

    def _drop_sign_in(self) -> None:
        if self._sign_in_job is not None:
            sign_in_runner().cancel(self._sign_in_job)
            self._sign_in_job = None
            self._sign_in_timer.stop()
        self._pending_sign_in = None
        self._pending_app_key = ""

    def _on_sign_in_clicked(self) -> None:
        email = self._email.text().strip()
        problem = email_problem(email)
        if problem:
            self._touched.add("email")
            self._show_errors(self._field_errors(), self._touched)
            self._email.setFocus()
            self._show_failure_text("Enter the email address before signing in.")
            return
        tokens = token_service(self._context)
        try:
            flow, app = tokens.interactive_sign_in(str(self._provider.currentData()), email)
        except OAuthError as exc:
            self._show_oauth_error(exc)
            return
        except SecretStoreError as exc:
            self._show_failure_text(str(exc))
            return
        self._sign_in_app_key = app.key
        self._sign_in_deadline = time.monotonic() + flow.time_limit_seconds
        self._sign_in_job = sign_in_runner().start(flow)
        self._show_idle("The browser opens the provider's sign-in page. Sign in there, then "
                        "come back here.")
        self._sign_in_timer.start()
        self._on_sign_in_tick()
        self._refresh_state()

    def _on_sign_in_tick(self) -> None:
        left = max(0, int(self._sign_in_deadline - time.monotonic()))
        self._sign_in_status.setText(
            f"Waiting for the browser… Sign in there as {self._email.text().strip()}. "
            f"Time left: {left // 60}:{left % 60:02d}."
        )

    def _on_cancel_sign_in_clicked(self) -> None:
        if self._sign_in_job is None:
            return
        sign_in_runner().cancel(self._sign_in_job)
        self._sign_in_job = None
        self._sign_in_timer.stop()
        self._show_idle("Sign-in cancelled. Nothing was kept.")
        self._refresh_state()

    def _on_sign_in_ended(self, job_id: int, outcome: object) -> None:
        if job_id != self._sign_in_job:
            return  # a cancelled sign-in, or one from another dialog
        self._sign_in_job = None
        self._sign_in_timer.stop()
        if isinstance(outcome, SignInResult):
            redactor.remember(outcome.refresh_token)
            redactor.remember(outcome.access_token.value)
            self._pending_sign_in = outcome
            self._pending_app_key = self._sign_in_app_key
            self._sign_in_serial += 1
            log.info("interactive sign-in finished for an address of %s",
                     self._provider.currentData())
            self._show_idle("Signed in. Click Test account to check that the server accepts "
                            "the sign-in; Save keeps it in the keyring.")
        elif isinstance(outcome, SignInCancelledError):
            self._show_idle("Sign-in cancelled. Nothing was kept.")
        elif isinstance(outcome, OAuthError):
            self._show_oauth_error(outcome)
        self._refresh_state()

    def _show_oauth_error(self, error: OAuthError) -> None:
        explanation = error.explanation(str(self._provider.currentData()))
        self._set_box_state("failed")
        self._status.setText(
            f'<span style="color:{ERROR_COLOR}"><b>{_escape(explanation.headline)}</b>'
            f"</span><br>{_escape(explanation.advice)}"
        )
        self._details.setPlainText(error.detail())
        self._details_toggle.show()
        self._details_toggle.setChecked(False)
        self._progress.hide()
        self._cancel_test.hide()

    def _token_source(self) -> TokenSource:
        """Where the check gets its access token: a sign-in made in this dialog, else the
        token service (the saved sign-in, refreshed; or the company app)."""
        pending = self._pending_sign_in
        if self._flow() is OAuthFlow.INTERACTIVE and pending is not None:
            value = pending.access_token.value

            def signed_in_token() -> str:
                return value

            return signed_in_token
        return token_service(self._context).token_source(self._oauth_target())

    def _on_company_apps_clicked(self) -> None:
        from mailsettings_desktop.ui.company_apps_window import open_company_apps_window

        window = open_company_apps_window(self, self._context)
        window.apps_changed.connect(self._refresh_state)

    # Test account --------------------------------------------------------------------------

    def _checked_form(self) -> AddressForm | None:
        """The form with the password to use, or None after showing what to fix."""
        errors = self._field_errors()
        self._touched.update(_FIELD_WIDGETS)
        self._show_errors(errors, self._touched)
        if errors:
            first = next(key for key in _FIELD_WIDGETS if key in errors)
            self._widget_for(first).setFocus()
            self._show_failure_text("Fix the highlighted fields, then test again.")
            return None
        form = self.form()
        if self._uses_oauth():
            return self._checked_oauth_form(form)
        if not form.password and self._existing is not None:
            try:
                stored = self._context.secrets.get(self._existing.secret_key)
            except SecretStoreError as exc:
                self._show_failure_text(str(exc))
                return None
            if not stored:
                # A test with an empty password would blame the admin's typing instead.
                self._password_missing = True
                self._show_errors(self._field_errors(), self._touched)
                self._password.setFocus()
                self._show_failure_text("Enter the password, then test again.")
                return None
            form = AddressForm(**{**form.__dict__, "password": stored})
        redactor.remember(form.password)
        return form

    def _checked_oauth_form(self, form: AddressForm) -> AddressForm | None:
        """The form without a password, or None after saying what is missing first."""
        if self._flow() is OAuthFlow.INTERACTIVE:
            pending = self._pending_sign_in
            name = self._sign_in.text().rstrip("…")
            if pending is None and not self._stored_sign_in_applies():
                self._show_failure_text(f"Click “{name}…” first: the employee signs in, "
                                        "then Test account uses that sign-in.")
                return None
            clock = token_service(self._context).cache.clock
            if pending is not None and pending.access_token.expired(clock()):
                self._drop_sign_in()
                self._show_failure_text("That sign-in is too old to test with. Sign in again.")
                self._refresh_state()
                return None
        return replace(form, password="")

    def _on_test_clicked(self) -> None:
        form = self._checked_form()
        if form is not None:
            self._start_job(form, None)

    def _on_send_message_clicked(self) -> None:
        recipient = self._recipient.text().strip()
        problem = email_problem(recipient, "the recipient's address")
        self._recipient_error.setText(problem or "")
        self._recipient_error.setVisible(bool(problem))
        set_problem(self._recipient, bool(problem))
        if problem:
            return
        form = self._checked_form()
        if form is None:
            return
        message = TestMessage(
            sender=form.email.strip(),
            recipient=recipient,
            sender_name=form.sender_name,
            reply_to=form.reply_to,
            signature=self._signature.toPlainText().rstrip(),
        )
        self._start_job(form, message)

    def _start_job(self, form: AddressForm, message: TestMessage | None) -> None:
        request = check_request(form)
        source: TokenSource | None = None
        self._job_target = None
        if self._uses_oauth():
            request = replace(request, password="", auth_method=AUTH_OAUTH2)
            source = self._token_source()
            self._job_target = self._oauth_target()
        self._job_key = self._connection_key()
        self._job_sends_message = message is not None
        self._job_id = self._context.runner.start(request, message, source)
        self._set_box_state("running")
        self._status.setText(Stage.RESOLVING.progress_text)
        self._progress.show()
        self._cancel_test.show()
        self._suggestion.hide()
        self._details_toggle.hide()
        self._details.hide()
        self._copy_details.hide()
        self._save_error.hide()
        self._refresh_state()

    def _on_cancel_test_clicked(self) -> None:
        if self._job_id is None:
            return
        self._context.runner.cancel(self._job_id)
        self._job_id = None
        self._show_idle("Test cancelled. Click Test account to try again.")
        self._refresh_state()

    def _on_job_progressed(self, job_id: int, stage: str) -> None:
        if job_id != self._job_id:
            return
        self._status.setText(Stage(stage).progress_text)

    def _on_job_finished(self, job_id: int, result: CheckResult) -> None:
        if job_id != self._job_id:
            return  # a cancelled or superseded test, or one from another dialog
        self._job_id = None
        self._progress.hide()
        self._cancel_test.hide()
        self._after_oauth_result(result)
        if self._job_sends_message:
            # A test message is optional: its outcome never changes what Save allows.
            self._show_result(result)
            self._details_toggle.setVisible(True)
        elif result.ok and self._job_key == self._connection_key():
            self._verified_key = self._job_key
            self._last_ok_result = result
            self._last_stamp = TestStamp(True, result.headline, _now())
            self._show_result(result)
        elif result.ok:
            self._show_idle("The values changed while the test ran. Test the account again.")
        else:
            self._last_stamp = TestStamp(False, result.headline, _now())
            self._show_result(result)
        self._refresh_state()

    def _after_oauth_result(self, result: CheckResult) -> None:
        """Keep the sign-in state in step with what the test found out."""
        target = self._job_target
        if target is None:
            return
        if result.category is Category.OAUTH_TOKEN_REFUSED:
            # The next test fetches a new token rather than offering the refused one again.
            token_service(self._context).forget_access_token(target)
        if (
            result.category is Category.OAUTH_SIGN_IN_AGAIN
            and self._pending_sign_in is None
            and self._stored_sign_in_applies()
        ):
            self._stored_state = SignInState.SIGN_IN_AGAIN

    def _show_result(self, result: CheckResult) -> None:
        self._set_box_state("ok" if result.ok else "failed")
        color = "inherit" if result.ok else ERROR_COLOR
        headline = _escape(result.headline)
        advice = _escape(result.advice)
        self._status.setText(
            f'<span style="color:{color}"><b>{headline}</b></span><br>{advice}'
        )
        self._details.setPlainText(result.details())
        self._details_toggle.setVisible(not result.ok)
        self._copy_details.setVisible(False)
        self._details.setVisible(False)
        self._details_toggle.setChecked(False)
        self._show_suggestion(result.suggestion)
        self._show_certificate(result)
        self._result_field = None if result.ok else result.field
        self._result_key = self._connection_key()
        self._show_errors(self._field_errors(), self._touched)

    def _show_failure_text(self, text: str) -> None:
        self._set_box_state("failed")
        self._status.setText(f'<span style="color:{ERROR_COLOR}">{_escape(text)}</span>')

    def _show_suggestion(self, suggestion: Suggestion | None) -> None:
        self._pending_suggestion = suggestion
        if suggestion is None:
            self._suggestion.hide()
            return
        self._suggestion.setText(suggestion.label)
        self._suggestion.show()

    def _show_certificate(self, result: CheckResult) -> None:
        cert = result.certificate
        trustable = cert is not None and result.category in (
            Category.CERT_UNTRUSTED, Category.CERT_CHANGED
        )
        self._certificate.setVisible(cert is not None and not result.ok)
        self._trust_cert.setVisible(trustable)
        self._offered_pin = cert.sha256 if trustable and cert else None
        if cert is None:
            return
        self._certificate.setText(
            f"<b>Certificate presented by the server</b><br>"
            f"Issued to: {_escape(cert.subject)}<br>Issued by: {_escape(cert.issuer)}<br>"
            f"Valid from {_escape(cert.not_before)} to {_escape(cert.not_after)}<br>"
            f"SHA-256 fingerprint: <tt>{_escape(cert.sha256)}</tt>"
        )

    def _on_trust_cert_clicked(self) -> None:
        if self._offered_pin is None:
            return
        self._trusted_pin = self._offered_pin
        log.info("admin chose to trust certificate %s for %s", self._trusted_pin,
                 self._host.text())
        self._show_idle("This certificate is now trusted for this address and server only. "
                        "Click Test account to test with it.")
        self._refresh_state()

    def _on_forget_pin_clicked(self) -> None:
        self._trusted_pin = None
        self._show_idle("The certificate is no longer trusted. Test the account again.")
        self._refresh_state()

    def _on_suggestion_clicked(self) -> None:
        suggestion = getattr(self, "_pending_suggestion", None)
        if suggestion is None:
            return
        self._security.setCurrentIndex(self._security.findData(suggestion.security.value))
        self._port.setValue(suggestion.port)
        self._suggestion.hide()
        self._show_idle(f"Changed to {suggestion.security.label} on port {suggestion.port}. "
                        "Click Test account.")

    def _on_details_toggled(self, shown: bool) -> None:
        self._details.setVisible(shown)
        self._copy_details.setVisible(shown)
        self._details_toggle.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def _on_copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self._details.toPlainText())
        self._copy_details.setText("Copied")
        QTimer.singleShot(1500, self._reset_copy_label)

    def _reset_copy_label(self) -> None:
        self._copy_details.setText("Copy details")

    # Save and close ------------------------------------------------------------------------

    def _draft(self) -> AddressDraft:
        form = self.form()
        return AddressDraft(
            employee_id=self._employee.id if self._employee else None,
            email=form.email.strip(),
            host=form.host.strip().rstrip("."),
            port=form.port,
            security=form.security,
            username=form.effective_username,
            sender_name=form.sender_name,
            provider_key=form.provider_key,
            timeout_seconds=form.timeout_seconds,
            reply_to=form.reply_to,
            is_default=self._default.isChecked(),
            project_ids=self._projects.checked_ids(),
            trusted_cert_sha256=self._trusted_pin,
            options=self._options(),
            is_company=self._company,
            all_employees=self._company and self._all_employees.isChecked(),
            allowed_employee_ids=self._allowed.checked_ids() if self._company else (),
            move_projects=self._move_projects.isChecked(),
        )

    def _options(self) -> dict[str, object]:
        """Extra options kept as JSON; unknown keys of an edited address are preserved."""
        options = dict(self._existing.options) if self._existing else {}
        signature = self._signature.toPlainText().rstrip()
        if signature:
            options["signature"] = signature
        else:
            options.pop("signature", None)
        if self._uses_oauth():
            return self._current_auth().to_options(options)
        options.pop("auth", None)
        return options

    def _on_save_clicked(self) -> None:
        # TODO: Save writes SQLite and the keyring on the GUI thread; a keyring that asks
        # to be unlocked holds the window until the admin answers its prompt.
        if not self._save.isEnabled():
            return
        oauth = self._uses_oauth()
        password = "" if oauth else self._password.text()
        tokens = token_service(self._context) if oauth else None
        sign_in = self._pending_sign_in if oauth and self._flow() is OAuthFlow.INTERACTIVE \
            else None
        try:
            if self._existing is None:
                record = address_book.save_new_address(
                    self._context.db, self._context.secrets, self._draft(), password,
                    self._last_stamp, tokens=tokens, sign_in=sign_in,
                )
            else:
                record = address_book.update_address(
                    self._context.db, self._context.secrets, self._existing.id, self._draft(),
                    password or None, self._last_stamp, tokens=tokens, sign_in=sign_in,
                )
        except address_book.SaveError as exc:
            self._save_error.setText(str(exc))
            self._save_error.show()
            log.warning("save refused: %s", exc)
            return
        self.address_saved.emit(record)
        self.accept()

    def done(self, result: int) -> None:
        """Every way of closing ends here: stop a running test so its result is ignored."""
        if self._job_id is not None:
            self._context.runner.cancel(self._job_id)
            self._job_id = None
        if self._sign_in_job is not None:
            sign_in_runner().cancel(self._sign_in_job)
            self._sign_in_job = None
        self._sign_in_timer.stop()
        try:
            self._context.runner.job_progressed.disconnect(self._on_job_progressed)
            self._context.runner.job_finished.disconnect(self._on_job_finished)
            sign_in_runner().sign_in_ended.disconnect(self._on_sign_in_ended)
        except (RuntimeError, TypeError):
            pass
        super().done(result)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
