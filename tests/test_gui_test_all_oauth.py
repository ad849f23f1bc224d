"""Test all through the GUI with an address that signs in with OAuth2: the window hands the
application's token service to the run, so the address is tested with a token."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.oauth import AddressAuth, AuthMethod, OAuthFlow
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.bulk_test_dialog import BulkTestDialog
from mailsettings_desktop.ui.main_window import MainWindow
from tests import fault_server as faults
from tests.conftest import USER
from tests.fake_oauth_server import FakeOAuthServer
from tests.fault_server import FaultServer
from tests.gui_helpers import child, click_tool
from tests.memory_keyring import MemoryKeyring
from tests.test_oauth import World

# Every test here would fail rather than look up a real provider.
pytestmark = pytest.mark.usefixtures("loopback_only")



def test_test_all_signs_oauth_addresses_in_with_a_token(
    qtbot: QtBot, window: MainWindow, fake_oauth: FakeOAuthServer,
    memory_keyring: MemoryKeyring, oauth_smtp: FaultServer,
) -> None:
    world = World(fake_oauth, memory_keyring)
    window.context.tokens = world.service
    db = window.context.db
    employee = db.list_employees()[0]
    auth = AddressAuth(AuthMethod.OAUTH2, OAuthFlow.APP_ONLY)
    draft = AddressDraft(employee.id, USER, faults.LOOPBACK, oauth_smtp.port, Security.STARTTLS,
                         USER, provider_key="microsoft365", timeout_seconds=10,
                         options=auth.to_options())
    with db.session() as s:
        record = db.to_record(db.insert_address(s, draft, "address-app-only"))

    click_tool(qtbot, window, "testAllAction")
    dialog = child(window, BulkTestDialog, "testAllDialog")
    with qtbot.waitSignal(dialog.run_finished, timeout=20_000) as finished:
        pass

    summary = finished.args[0] if finished.args else None
    assert summary is not None and (summary.total, summary.failed) == (1, 0)
    assert child(dialog, QTableView, "testAllFailures").model().rowCount() == 0
    assert oauth_smtp.log.oauth_users == [USER]
    stored = db.get_address(record.id)
    assert stored is not None and stored.last_test is not None and stored.last_test.ok
