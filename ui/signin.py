"""The sign-in dialog: the API user, its secret, the integration code and the technician's own
e-mail, a "Test connection" that says exactly what is wrong, and "Sign in" that keeps the
credentials in the system keyring (through the agent). The parts the administrator's policy
gives are not asked for: with all of them, the technician only confirms their e-mail."""

from __future__ import annotations

import httpx
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.api.facade import Agent
from agent.api.types import ConnectionTest
from ui import icons, style
from ui.dialogs.fit import body_above_buttons, keep_on_screen
from ui.service import AgentService

FIELD_OF_KIND = {
    "unknown_user": "username",
    "wrong_secret": "secret",
    "bad_integration_code": "integration_code",
}


class SignInDialog(QDialog):
    signedIn = Signal()

    def __init__(
        self,
        service: AgentService,
        *,
        directory_url: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        options = service.agent.options
        # The agent decides where the zone is looked up, as it does for syncing.
        self.explicit_directory = directory_url
        self.directory_url = directory_url or service.agent.directory_url(service.settings)
        self.transport = transport if transport is not None else options.transport
        self.result_kind = ""
        policy = service.agent.policy
        # The sign-in parts the policy gives, by the name of their field here.
        self.managed = set(policy.credential_entries)
        self.setWindowTitle("Sign in to Autotask")
        self.setWindowIcon(icons.app_icon())
        self.setMinimumWidth(520)
        outer, self.scroll, box = body_above_buttons(self, margins=(26, 24, 26, 20), spacing=14)

        head = QHBoxLayout()
        head.setSpacing(14)
        logo = QLabel()
        logo.setPixmap(icons.pixmap("app", 44, None, 0.0, icons.device_pixel_ratio()))
        head.addWidget(logo, 0, Qt.AlignmentFlag.AlignTop)
        words = QVBoxLayout()
        words.setSpacing(4)
        words.addWidget(QLabel("Connect Field Sync to Autotask", objectName="DialogTitle"))
        lead = QLabel(
            (
                "Your administrator has set up the connection to Autotask"
                + (f" (API user {policy.api_user})" if policy.api_user else "")
                + ". Confirm your own Autotask e-mail: Field Sync finds you among your "
                "company's resources and syncs your tickets."
                if self.managed == {"username", "secret", "integration_code"}
                else "Use the API user your administrator created for Field Sync. Its zone is "
                "found automatically; the secret is kept in your system's keyring, never on disk."
            ),
            objectName="DialogLead",
        )
        lead.setWordWrap(True)
        words.addWidget(lead)
        head.addLayout(words, 1)
        box.addLayout(head)

        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(6)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.username = QLineEdit(placeholderText="fieldsync-api@yourcompany.com")
        self.secret = QLineEdit(placeholderText="The API user's secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        reveal = QAction(icons.icon("eye", style.MUTED), "Show secret", self.secret)
        reveal.setCheckable(True)
        reveal.toggled.connect(
            lambda on: self.secret.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        self.secret.addAction(reveal, QLineEdit.ActionPosition.TrailingPosition)
        self.integration_code = QLineEdit(placeholderText="Tracking identifier of the integration")
        self.email = QLineEdit(placeholderText="you@yourcompany.com")
        self.fields: dict[str, QLineEdit] = {
            "username": self.username,
            "secret": self.secret,
            "integration_code": self.integration_code,
            "email": self.email,
        }
        form.addRow("API user name", self.username)
        form.addRow("", self._help("An API-only user in Autotask (Admin › Resources)."))
        form.addRow("Secret", self.secret)
        form.addRow("Integration code", self.integration_code)
        form.addRow("Your e-mail", self.email)
        form.addRow("", self._help("Your own Autotask e-mail: Field Sync syncs your tickets."))
        for name in self.managed:  # given by the administrator: not asked for
            form.setRowVisible(self.fields[name], False)
        if "username" in self.managed:
            form.setRowVisible(1, False)  # the help under the API user's name
        box.addLayout(form)
        for edit in self.fields.values():
            edit.textChanged.connect(self._edited)

        row = QHBoxLayout()
        row.setSpacing(8)
        self.message_icon = QLabel()
        self.message_icon.setFixedSize(18, 18)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(38)
        self.message.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        row.addWidget(self.message_icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.message, 1)
        box.addLayout(row)
        box.addStretch(1)

        buttons = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.cancel_button = QPushButton("Not now")
        self.cancel_button.clicked.connect(self.reject)
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setProperty("primary", True)
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.sign_in)
        buttons.addWidget(self.test_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.sign_in_button)
        outer.addLayout(buttons)
        self._edited()
        keep_on_screen(self)

    @staticmethod
    def _help(text: str) -> QLabel:
        label = QLabel(text, objectName="FieldHelp")
        label.setWordWrap(True)
        return label

    # -- validation --------------------------------------------------------------------------
    def _values(self) -> dict[str, str]:
        """What was typed; "" for the parts the policy gives (the agent uses its own)."""
        return {
            name: "" if name in self.managed else edit.text().strip()
            for name, edit in self.fields.items()
        }

    def _edited(self) -> None:
        values = self._values()
        creds_ready = all(
            values[k] or k in self.managed for k in ("username", "secret", "integration_code")
        )
        self.test_button.setEnabled(creds_ready)
        self.sign_in_button.setEnabled(creds_ready and "@" in values["email"])
        for edit in self.fields.values():
            self._mark(edit, False)

    @staticmethod
    def _mark(edit: QLineEdit, invalid: bool) -> None:
        edit.setProperty("invalid", invalid)
        edit.style().unpolish(edit)
        edit.style().polish(edit)

    def _say(self, ok: bool | None, text: str) -> None:
        if ok is None:
            color, icon = style.MUTED, "sync"
        else:
            color, icon = (style.SUCCESS, "check") if ok else (style.DANGER, "error")
        self.message_icon.setPixmap(icons.pixmap(icon, 18, color, 0.0, icons.device_pixel_ratio()))
        self.message.setStyleSheet(f"color: {color};")
        self.message.setText(text)

    def _busy(self, busy: bool, text: str = "") -> None:
        for widget in (self.test_button, self.sign_in_button, *self.fields.values()):
            widget.setEnabled(not busy)
        if busy:
            self._say(None, text)
        else:
            self._edited()

    # -- actions ----------------------------------------------------------------------------------
    def test_connection(self) -> None:
        v = self._values()
        self._busy(True, "Testing the connection to Autotask…")
        # The profile's own directory is checked by the agent (the user's recorded choice); a
        # directory given to this dialog explicitly (the demo, tests) is tested as given.
        call = (
            Agent.test_connection(
                v["username"],
                v["secret"],
                v["integration_code"],
                directory_url=self.explicit_directory,
                transport=self.transport,
            )
            if self.explicit_directory and not self.managed
            else self.service.agent.test_sign_in(v["username"], v["secret"], v["integration_code"])
        )
        self.service.run(call, self._tested, self._crashed)

    def sign_in(self) -> None:
        v = self._values()
        self._busy(True, "Signing in and finding your resource…")
        self.service.run(
            self.service.agent.sign_in(
                v["username"], v["secret"], v["integration_code"], v["email"]
            ),
            self._signed_in,
            self._crashed,
        )

    def _tested(self, result: ConnectionTest) -> None:
        self._show_result(result)

    def _signed_in(self, result: ConnectionTest) -> None:
        self._show_result(result)
        if result.ok:
            self.signedIn.emit()
            self.accept()

    def _show_result(self, result: ConnectionTest) -> None:
        self._busy(False)
        self.result_kind = result.kind
        self._say(result.ok, result.message)
        field = FIELD_OF_KIND.get(result.kind)
        if field is None and not result.ok and "e-mail" in result.message:
            field = "email"
        if field is not None:
            self._mark(self.fields[field], True)
            self.fields[field].setFocus()

    def _crashed(self, exc: BaseException) -> None:
        self._busy(False)
        self.result_kind = "other"
        self._say(False, f"Something went wrong: {type(exc).__name__}. See the log for details.")


__all__ = ["SignInDialog"]
