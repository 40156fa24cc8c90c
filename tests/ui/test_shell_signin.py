"""The sign-in dialog names what is wrong (user, secret, integration code, network) and signs
in for real: credentials to the keyring, the technician's resource found by e-mail."""

from __future__ import annotations

import socket

import httpx
import pytest

from agent.simulator import DEMO_INTEGRATION_CODE, DEMO_SECRET, DEMO_USERNAME
from tests.ui.conftest import BASE, Shell
from ui.signin import SignInDialog


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def technician_email(shell: Shell) -> str:
    resource = shell.sim.tenant.records["Resources"][shell.sim.technician_resource_id]
    return str(resource["email"])


@pytest.fixture
def dialog(signed_out_shell: Shell, qtbot) -> SignInDialog:
    dialog = SignInDialog(signed_out_shell.service)
    qtbot.addWidget(dialog)
    return dialog


def fill(dialog: SignInDialog, user: str, secret: str, code: str, email: str = "") -> None:
    dialog.username.setText(user)
    dialog.secret.setText(secret)
    dialog.integration_code.setText(code)
    dialog.email.setText(email)


def test_buttons_wait_for_the_fields_they_need(dialog: SignInDialog):
    assert not dialog.test_button.isEnabled() and not dialog.sign_in_button.isEnabled()
    fill(dialog, DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
    assert dialog.test_button.isEnabled() and not dialog.sign_in_button.isEnabled()
    dialog.email.setText("me@example.com")
    assert dialog.sign_in_button.isEnabled()


def test_the_secret_is_a_password_field(dialog: SignInDialog):
    assert dialog.secret.echoMode() == dialog.secret.EchoMode.Password


@pytest.mark.parametrize(
    ("user", "secret", "code", "kind", "field", "words"),
    [
        (
            "nobody@example.com",
            DEMO_SECRET,
            DEMO_INTEGRATION_CODE,
            "unknown_user",
            "username",
            "does not know this API user",
        ),
        (
            DEMO_USERNAME,
            "not-the-secret",
            DEMO_INTEGRATION_CODE,
            "wrong_secret",
            "secret",
            "secret is wrong",
        ),
        (
            DEMO_USERNAME,
            DEMO_SECRET,
            "NOT-A-CODE",
            "bad_integration_code",
            "integration_code",
            "integration code is not valid",
        ),
    ],
)
def test_test_connection_names_the_wrong_field(
    signed_out_shell: Shell, dialog: SignInDialog, user, secret, code, kind, field, words
):
    fill(dialog, user, secret, code)
    dialog.test_button.click()
    signed_out_shell.settle()
    assert dialog.result_kind == kind
    assert words in dialog.message.text()
    assert dialog.fields[field].property("invalid") is True
    assert secret not in dialog.message.text()


def test_test_connection_says_when_the_network_is_down(signed_out_shell: Shell, qtbot):
    dialog = SignInDialog(
        signed_out_shell.service,
        directory_url=f"http://127.0.0.1:{closed_port()}/ATServicesRest/",
        transport=httpx.AsyncHTTPTransport(retries=0),
    )
    qtbot.addWidget(dialog)
    fill(dialog, DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
    dialog.test_button.click()
    signed_out_shell.settle()
    assert dialog.result_kind == "no_network"
    assert "cannot be reached" in dialog.message.text()


def test_test_connection_confirms_good_credentials(signed_out_shell: Shell, dialog):
    fill(dialog, DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE)
    dialog.test_button.click()
    signed_out_shell.settle()
    assert dialog.result_kind == "ok" and "Connected" in dialog.message.text()


def test_sign_in_finds_the_resource_and_the_agent_is_signed_in(
    signed_out_shell: Shell, dialog: SignInDialog, qtbot
):
    shell = signed_out_shell
    assert not shell.status().signed_in
    fill(dialog, DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, technician_email(shell))
    with qtbot.waitSignal(dialog.signedIn, timeout=5000):
        dialog.sign_in_button.click()
        shell.settle()
    assert shell.status().signed_in
    assert shell.agent.profile.credentials.has_credentials()
    assert dialog.result() == dialog.DialogCode.Accepted


def test_sign_in_with_an_unknown_email_stays_open_and_says_so(
    signed_out_shell: Shell, dialog: SignInDialog
):
    fill(dialog, DEMO_USERNAME, DEMO_SECRET, DEMO_INTEGRATION_CODE, "stranger@example.com")
    dialog.sign_in_button.click()
    signed_out_shell.settle()
    assert "e-mail" in dialog.message.text()
    assert dialog.email.property("invalid") is True
    assert not signed_out_shell.status().signed_in


def test_dialog_uses_the_agents_directory(signed_out_shell: Shell, dialog: SignInDialog):
    assert dialog.directory_url == BASE + "/ATServicesRest/"
