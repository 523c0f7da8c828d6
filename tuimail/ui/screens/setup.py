"""The setup wizard: an address and a password, discovered settings, a real login test, saved.

Steps, one at a time in the same screen: address -> looking up -> settings -> login test ->
(where the password goes, when no keyring answers) -> saved. Everything works with tab,
shift+tab, enter and escape at 80x24. Text from servers and discovery is shown as plain Text.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import (
    Button,
    Checkbox,
    ContentSwitcher,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Select,
    Static,
)

from tuimail.mime.sanitize import safe_line, safe_text
from tuimail.model.account import (
    DEFAULT_PORTS,
    Account,
    LocalSource,
    Pop3Options,
    Protocol,
    Security,
)
from tuimail.model.discovery import Discovery, ServerChoice
from tuimail.model.errors import MailError
from tuimail.services.events import Event, ServerChecked, ServerCheckStarted
from tuimail.services.setup import (
    AccountSetup,
    LoginFailure,
    LoginTest,
    PasswordPlace,
    Saved,
    ServerForm,
    StoreStatus,
    check_email,
    suggest_account_id,
    trust,
)

_SECURITY_CHOICES = [
    ("TLS (encrypted from the start)", Security.TLS),
    ("STARTTLS (upgraded)", Security.STARTTLS),
    ("None (unencrypted)", Security.NONE),
]
_INCOMING_CHOICES = [("IMAP (mail stays on the server)", Protocol.IMAP), ("POP3", Protocol.POP3)]

_POP3_NOTE = (
    "POP3 downloads mail to this computer. With 'leave on the server' on (the default) your "
    "phone and webmail still see every message; tuimail deletes from the server only after the "
    "days you set (0: never)."
)

_TLS = Security.TLS
STEPS = ("address", "looking", "settings", "testing", "store", "saved")


class NextField(Input):
    """A field where enter moves to the next one, at once (typed-ahead keys follow the cursor)."""

    async def action_submit(self) -> None:
        """Enter: on to the next field."""
        self.screen.focus_next()


def _field(
    label: str, widget: Input | Select[object] | Checkbox, *, row_id: str = ""
) -> Horizontal:
    row = Horizontal(Label(Content(label), classes="field-label"), widget, classes="field")
    if row_id:
        row.id = row_id
    return row


def _text(value: str, style: str = "") -> Text:
    return Text(safe_text(value), style=style)


class SetupScreen(Screen[Saved | None]):
    """Adds an account (or edits one, prefilled); dismisses with what was saved, or None."""

    DEFAULT_CSS = """
    SetupScreen { layout: vertical; }
    SetupScreen #setup-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    SetupScreen ContentSwitcher { height: 1fr; }
    SetupScreen .step { padding: 0 1; height: 1fr; }
    SetupScreen .field { height: 1; margin-top: 1; }
    SetupScreen #settings .field { margin-top: 0; }
    SetupScreen .field-label { width: 16; }
    SetupScreen .field Input { width: 1fr; }
    SetupScreen .field Select { width: 1fr; }
    SetupScreen .short Input { width: 8; }
    SetupScreen .buttons { height: auto; margin-top: 1; }
    SetupScreen .buttons Button { margin-right: 2; }
    SetupScreen .note { color: $text-muted; margin-top: 1; }
    SetupScreen .heading { text-style: bold; margin-top: 1; }
    SetupScreen #setup-error { color: $error; height: auto; padding: 0 1; }
    SetupScreen #test-failure { height: auto; margin-top: 1; }
    SetupScreen #test-log { height: auto; }
    SetupScreen RadioSet { width: 1fr; height: auto; }
    SetupScreen #pop3-options { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "back", "Back / cancel", id="setup.back"),
    ]
    AUTO_FOCUS = "Input"
    """The first field (the password when editing: the address is fixed), not the scroll."""

    def __init__(
        self, setup: AccountSetup, *, editing: Account | None = None, first_run: bool = False
    ) -> None:
        super().__init__()
        self.setup = setup
        self.editing = editing
        self.first_run = first_run
        self.discovery: Discovery | None = None
        self.found: dict[Protocol, ServerChoice] = {}
        self.account: Account | None = None
        self.password = ""
        self.cancel = threading.Event()
        self._generation = 0
        self._busy = False
        self._progress: list[str] = []
        self._test_lines: list[Text] = []
        self._untrusted: list[LoginFailure] = []
        self._local_sources: list[LocalSource] = []
        self._vault_exists = False
        self.saved: Saved | None = None
        """What was saved, once it was."""

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="setup-title")
        yield Static(id="setup-error")
        with ContentSwitcher(initial="address"):
            yield from self._compose_address()
            yield from self._compose_looking()
            yield from self._compose_settings()
            yield from self._compose_testing()
            yield from self._compose_store()
            yield from self._compose_saved()
        yield Footer()

    def _compose_address(self) -> ComposeResult:
        with VerticalScroll(id="address", classes="step"):
            yield Static(
                Text(
                    "Type your email address and password: tuimail looks up your "
                    "provider's settings, tests them with a real login, and saves nothing "
                    "before that works."
                ),
                classes="note",
            )
            editing = self.editing is not None  # the address names the account: fixed
            yield _field("Email address", NextField(id="email", compact=True, disabled=editing))
            yield _field("Password", NextField(id="password", password=True, compact=True))
            yield _field(
                "Your name",
                Input(id="name", placeholder="shown in From (optional)", compact=True),
            )
            with Horizontal(classes="buttons"):
                yield Button(Content("Continue"), variant="primary", id="continue")
                yield Button(Content("Enter settings by hand"), id="manual")
            yield Static(id="local-note", classes="note")
            with Horizontal(classes="buttons", id="local-row"):
                yield Button(Content("Read the mail on this machine"), id="local")

    def _compose_looking(self) -> ComposeResult:
        with Vertical(id="looking", classes="step"):
            yield Static(id="looking-text")
            yield Static(
                Text("Press escape to stop and enter the settings by hand."), classes="note"
            )

    def _compose_settings(self) -> ComposeResult:
        with VerticalScroll(id="settings", classes="step"):
            yield Static(id="found")
            yield Static(Text("Incoming mail"), classes="heading")
            yield _field(
                "Protocol",
                Select(_INCOMING_CHOICES, allow_blank=False, id="in-protocol", compact=True),
            )
            yield _field("Host", NextField(id="in-host", compact=True))
            yield _field(
                "Port", NextField(id="in-port", restrict=r"[0-9]*", compact=True), row_id="in-p"
            )
            yield _field(
                "Security",
                Select(_SECURITY_CHOICES, allow_blank=False, id="in-security", compact=True),
            )
            yield _field("User name", NextField(id="in-user", compact=True))
            with Vertical(id="pop3-options"):
                yield Static(Text(_POP3_NOTE), classes="note")
                yield _field(
                    "",
                    Checkbox(
                        Content("Leave messages on the server"),
                        True,
                        id="pop3-leave",
                        compact=True,
                    ),
                )
                yield _field(
                    "Delete after",
                    NextField(
                        id="pop3-days",
                        restrict=r"[0-9]*",
                        placeholder="days (0: never)",
                        compact=True,
                    ),
                )
            yield Static(Text("Outgoing mail (SMTP)"), classes="heading")
            yield _field("Host", NextField(id="out-host", compact=True))
            yield _field("Port", NextField(id="out-port", restrict=r"[0-9]*", compact=True))
            yield _field(
                "Security",
                Select(_SECURITY_CHOICES, allow_blank=False, id="out-security", compact=True),
            )
            yield _field("User name", Input(id="out-user", compact=True))
            with Horizontal(classes="buttons"):
                yield Button(Content("Test and save"), variant="primary", id="test")
                yield Button(Content("Back"), id="settings-back")

    def _compose_testing(self) -> ComposeResult:
        with VerticalScroll(id="testing", classes="step"):
            yield Static(
                Text("Logging in to each server for real; nothing is saved yet."),
                classes="note",
            )
            yield Static(id="test-log")
            yield Static(id="test-failure")
            with Horizontal(classes="buttons"):
                yield Button(Content("Trust this certificate"), variant="warning", id="trust")
                yield Button(Content("Try again"), variant="primary", id="retry")
                yield Button(Content("Back to the settings"), id="testing-back")

    def _compose_store(self) -> ComposeResult:
        with VerticalScroll(id="store", classes="step"):
            yield Static(id="password-why")
            with RadioSet(id="place"):
                yield RadioButton(Content("Encrypted vault"), id="place-vault", value=True)
                yield RadioButton(Content("A command that prints it"), id="place-command")
                yield RadioButton(Content("This session only"), id="place-session")
            yield Static(id="place-note", classes="note")
            yield _field(
                "Passphrase",
                Input(id="passphrase", password=True, compact=True),
                row_id="passphrase-row",
            )
            yield _field(
                "Repeat it",
                Input(id="passphrase2", password=True, compact=True),
                row_id="passphrase2-row",
            )
            yield _field(
                "Command",
                Input(id="command", placeholder="pass show mail/alice", compact=True),
                row_id="command-row",
            )
            with Horizontal(classes="buttons"):
                yield Button(Content("Save"), variant="primary", id="save")

    def _compose_saved(self) -> ComposeResult:
        with VerticalScroll(id="saved", classes="step"):
            yield Static(id="saved-text")
            with Horizontal(classes="buttons"):
                yield Button(Content("Open my mail"), variant="primary", id="open")

    def on_mount(self) -> None:
        if self.editing is not None:
            account = self.editing
            self.query_one("#email", Input).value = account.email
            self.query_one("#name", Input).value = account.name
            self.query_one("#password", Input).placeholder = "empty: keep the stored password"
            self.query_one("#manual", Button).display = False
            self._fill_from_account(account)
        self._show("address")
        self.call_after_refresh(self._focus_first)
        self.query_one("#local-row").display = False
        self.query_one("#local-note").display = False
        if self.editing is None:
            self._find_local()

    def _focus_first(self) -> None:
        """The cursor in the first field, unless auto focus put it there and typing moved it."""
        if not isinstance(self.focused, Input):
            self.query_one("#password" if self.editing else "#email", Input).focus()

    # -- steps -----------------------------------------------------------------------------

    def _show(self, step: str) -> None:
        self.query_one(ContentSwitcher).current = step
        what = "Edit account" if self.editing else "Add a mail account"
        titles = {
            "address": "your address",
            "looking": "looking up the settings",
            "settings": "the settings",
            "testing": "login test",
            "store": "where the password goes",
            "saved": "saved",
        }
        number = STEPS.index(step) + 1
        self.query_one("#setup-title", Static).update(
            Text(f"{what}: step {number} of {len(STEPS)}, {titles[step]}")
        )
        if step not in {"address", "settings"}:
            self._error("")

    @property
    def busy(self) -> bool:
        """True while a login test or saving runs."""
        return self._busy

    @property
    def step(self) -> str:
        """The step shown now."""
        return self.query_one(ContentSwitcher).current or "address"

    def _error(self, message: str) -> None:
        self.query_one("#setup-error", Static).update(_text(message))

    def action_back(self) -> None:
        """Escape: one step back; on the first step, leave the wizard."""
        step = self.step
        if step == "looking":
            self.cancel.set()
            self._generation += 1
            self._manual(stopped=True)
        elif step == "settings":
            self._show("address")
            self.query_one("#email" if not self.editing else "#password", Input).focus()
        elif step == "testing":
            self.cancel.set()
            self._generation += 1
            self._busy = False
            self._to_settings()
        elif step == "store":
            self._to_settings()
        elif step == "saved":
            self._finish()
        else:
            self.dismiss(None)

    def _to_settings(self) -> None:
        self._show("settings")
        self.query_one("#in-host", Input).focus()

    # -- address ---------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="setup-local", exit_on_error=False)
    def _find_local(self) -> None:
        try:
            found = self.setup.local_sources()
        except MailError:
            return
        if found:
            self.app.call_from_thread(self._show_local, found)

    def _show_local(self, found: list[LocalSource]) -> None:
        self._local_sources = found
        text = Text("Mail is already on this machine: ")
        text.append(", ".join(safe_line(source.path) for source in found))
        text.append(". tuimail can read it without a server or password.")
        self.query_one("#local-note", Static).update(text)
        self.query_one("#local-note").display = True
        self.query_one("#local-row").display = True

    @on(Button.Pressed, "#local")
    def _local_pressed(self) -> None:
        sources = self._local_sources
        if sources and not self._busy:
            self._busy = True
            self._add_local(sources)

    @work(thread=True, exclusive=True, group="setup-save", exit_on_error=False)
    def _add_local(self, sources: list[LocalSource]) -> None:
        try:
            saved = self.setup.add_local(sources)
        except MailError as exc:
            self.app.call_from_thread(self._save_failed, exc)
            return
        self.app.call_from_thread(self._saved, saved)

    @on(Input.Submitted, "#name")
    @on(Button.Pressed, "#continue")
    def _continue(self) -> None:
        if self._read_address() is None:
            return
        if self.editing is not None:
            self._to_settings()
            return
        self._look_up()

    @on(Button.Pressed, "#manual")
    def _manual_pressed(self) -> None:
        if self._read_address() is not None:
            self._manual(stopped=False)

    def _read_address(self) -> str | None:
        try:
            email = check_email(self.query_one("#email", Input).value)
        except MailError as exc:
            self._error(exc.message)
            self.query_one("#email", Input).focus()
            return None
        self.password = self.query_one("#password", Input).value
        if not self.password and self.editing is None:
            self._error("Type the password of the account (it is tested before it is saved).")
            self.query_one("#password", Input).focus()
            return None
        self._error("")
        return email

    def _look_up(self) -> None:
        email = self.query_one("#email", Input).value.strip()
        self._progress = []
        self._generation += 1
        self.cancel = threading.Event()
        self._show("looking")
        self._update_looking(email)
        self._discover(email, self._generation, self.cancel)

    def _update_looking(self, email: str) -> None:
        text = Text()
        text.append(f"Looking up the settings for {safe_line(email)}...\n\n", style="bold")
        for line in self._progress[-12:]:
            text.append(f"• {safe_line(line)}\n")
        self.query_one("#looking-text", Static).update(text)

    @work(thread=True, exclusive=True, group="setup-discovery", exit_on_error=False)
    def _discover(self, email: str, generation: int, cancel: threading.Event) -> None:
        def progress(line: str) -> None:
            self.app.call_from_thread(self._progressed, generation, email, line)

        try:
            found = self.setup.discover(email, on_progress=progress, cancel=cancel)
        except MailError as exc:
            progress(exc.message)
            found = None
        except Exception as exc:  # a bug in discovery must not stop the setup
            progress(f"Discovery failed ({type(exc).__name__}).")
            found = None
        self.app.call_from_thread(self._discovered, generation, found)

    def _progressed(self, generation: int, email: str, line: str) -> None:
        if generation == self._generation and self.step == "looking":
            self._progress.append(line)
            self._update_looking(email)

    def _discovered(self, generation: int, found: Discovery | None) -> None:
        if generation != self._generation or self.step != "looking":
            return
        if found is None or not found.incoming:
            self._manual(stopped=False, searched=True, tried=found.tried if found else ())
            return
        self.discovery = found
        self._fill_from_discovery(found)
        self._to_settings()

    # -- settings --------------------------------------------------------------------------

    def _domain(self) -> str:
        return self.query_one("#email", Input).value.strip().rpartition("@")[2].lower()

    def _manual(
        self, *, stopped: bool, searched: bool = False, tried: tuple[str, ...] = ()
    ) -> None:
        """Settings to type by hand, prefilled with the usual guesses."""
        self.discovery = None
        self.found = {}
        email = self.query_one("#email", Input).value.strip()
        domain = self._domain()
        self._set_server("in", ServerChoice(Protocol.IMAP, f"imap.{domain}", 993, _TLS, email))
        self._set_server("out", ServerChoice(Protocol.SMTP, f"smtp.{domain}", 465, _TLS, email))
        if stopped:
            heading = "Stopped looking. Enter the settings your provider gives (guesses below)."
        elif searched:
            heading = "No settings were found for this address. Enter the ones your provider "
            heading += "gives (guesses below)."
        else:
            heading = "Enter the settings your provider gives (guesses below)."
        text = Text(heading, style="bold")
        for line in tried[-6:]:  # what was asked, so the person knows it was not a typo
            text.append(f"\n• {safe_line(line)}", style="")
        self.query_one("#found", Static).update(text)
        self._to_settings()

    def _set_server(self, prefix: str, server: ServerChoice) -> None:
        if prefix == "in":
            self.query_one("#in-protocol", Select).value = server.protocol
        self.query_one(f"#{prefix}-host", Input).value = safe_line(server.host)
        self.query_one(f"#{prefix}-port", Input).value = str(server.port)
        self.query_one(f"#{prefix}-security", Select).value = server.security
        self.query_one(f"#{prefix}-user", Input).value = safe_line(server.username)
        self._show_pop3()

    def _fill_from_discovery(self, found: Discovery) -> None:
        self.found = {}
        for choice in found.incoming:
            self.found.setdefault(choice.protocol, choice)
        self._set_server("in", found.incoming[0])
        if found.outgoing:
            self._set_server("out", found.outgoing[0])
        else:
            guess = ServerChoice(Protocol.SMTP, f"smtp.{self._domain()}", 465, _TLS, found.email)
            self._set_server("out", guess)
        text = Text()
        provider = f" ({safe_line(found.provider)})" if found.provider else ""
        text.append(f"Found in {found.source.label}{provider}. Check them; change any.", "bold")
        for note in found.notes:
            text.append(f"\n{safe_line(note)}")
        if found.help_url:
            text.append(f"\nHelp: {safe_line(found.help_url)}")
        if found.oauth2_only:
            text.append(
                "\nThis provider accepts only OAuth2 sign-in, which tuimail cannot do yet.",
                "bold",
            )
        self.query_one("#found", Static).update(text)

    def _fill_from_account(self, account: Account) -> None:
        for prefix, endpoint in (("in", account.incoming), ("out", account.outgoing)):
            if endpoint is not None:
                self._set_server(
                    prefix,
                    ServerChoice(
                        endpoint.protocol,
                        endpoint.host,
                        endpoint.port,
                        endpoint.security,
                        endpoint.username,
                    ),
                )
        self.query_one("#pop3-leave", Checkbox).value = account.pop3.leave_on_server
        self.query_one("#pop3-days", Input).value = str(account.pop3.delete_after_days)
        self.query_one("#found", Static).update(
            Text(f"Account {account.id!r}: change what you need.", style="bold")
        )

    def _show_pop3(self) -> None:
        protocol = self.query_one("#in-protocol", Select).value
        self.query_one("#pop3-options").display = protocol == Protocol.POP3

    @on(Select.Changed, "#in-protocol")
    def _protocol_changed(self, event: Select.Changed) -> None:
        protocol = event.value
        if not isinstance(protocol, Protocol):
            return
        self._show_pop3()
        choice = self.found.get(protocol)
        if choice is not None:
            self._set_server("in", choice)
            return
        security = self.query_one("#in-security", Select).value
        port = self.query_one("#in-port", Input)
        others = {str(p) for (kind, _), p in DEFAULT_PORTS.items() if kind is not protocol}
        if isinstance(security, Security) and (not port.value or port.value in others):
            port.value = str(DEFAULT_PORTS[(protocol, security)])
        host = self.query_one("#in-host", Input)
        domain = self._domain()
        guesses = {Protocol.IMAP: f"imap.{domain}", Protocol.POP3: f"pop.{domain}"}
        if host.value in guesses.values():
            host.value = guesses[protocol]

    @on(Select.Changed, "#in-security")
    @on(Select.Changed, "#out-security")
    def _security_changed(self, event: Select.Changed) -> None:
        prefix = "in" if event.select.id == "in-security" else "out"
        security = event.value
        protocol = self.query_one("#in-protocol", Select).value if prefix == "in" else Protocol.SMTP
        if not isinstance(security, Security) or not isinstance(protocol, Protocol):
            return
        port = self.query_one(f"#{prefix}-port", Input)
        defaults = {str(DEFAULT_PORTS[(protocol, s)]) for s in Security}
        if not port.value or port.value in defaults:
            port.value = str(DEFAULT_PORTS[(protocol, security)])

    def _server_form(self, prefix: str) -> ServerForm:
        protocol = self.query_one("#in-protocol", Select).value if prefix == "in" else Protocol.SMTP
        security = self.query_one(f"#{prefix}-security", Select).value
        assert isinstance(protocol, Protocol)  # noqa: S101 - the selects allow no blank
        assert isinstance(security, Security)  # noqa: S101
        return ServerForm(
            protocol,
            self.query_one(f"#{prefix}-host", Input).value,
            self.query_one(f"#{prefix}-port", Input).value,
            security,
            self.query_one(f"#{prefix}-user", Input).value,
        )

    def _read_account(self) -> Account | None:
        try:
            email = check_email(self.query_one("#email", Input).value)
            base = self.editing
            incoming = self._server_form("in").endpoint("incoming", base.incoming if base else None)
            outgoing = self._server_form("out").endpoint(
                "outgoing", base.outgoing if base else None
            )
        except MailError as exc:
            self._error(exc.message)
            return None
        days = self.query_one("#pop3-days", Input).value.strip()
        pop3 = replace(
            base.pop3 if base is not None else Pop3Options(),
            leave_on_server=self.query_one("#pop3-leave", Checkbox).value,
            delete_after_days=int(days) if days else 0,
        )
        name = self.query_one("#name", Input).value.strip()
        if base is not None:
            return replace(
                base, name=name, incoming=incoming, outgoing=outgoing, pop3=pop3, email=email
            )
        try:
            taken = [a.id for a in self.setup.settings().accounts]
        except MailError as exc:
            self._error(exc.message)
            return None
        return Account(suggest_account_id(email, taken), name, email, incoming, outgoing, pop3=pop3)

    @on(Button.Pressed, "#settings-back")
    def _settings_back(self) -> None:
        self.action_back()

    @on(Input.Submitted, "#out-user")
    @on(Button.Pressed, "#test")
    @on(Button.Pressed, "#retry")
    def _start_test(self) -> None:
        if self._busy:
            return
        account = self._read_account()
        if account is None:
            return
        if self.account is not None and self._fingerprint_kept(account):
            account = self._with_pins(account)
        self.account = account
        self._run_test(account)

    def _fingerprint_kept(self, account: Account) -> bool:
        return self.account is not None and self.account.id == account.id

    def _with_pins(self, account: Account) -> Account:
        """Keep certificates trusted in this wizard while the servers stay the same."""
        assert self.account is not None  # noqa: S101
        pinned = {
            e.address: e.tls_fingerprint for _, e in self.account.endpoints if e.tls_fingerprint
        }
        incoming = account.incoming
        outgoing = account.outgoing
        if incoming is not None and incoming.address in pinned and not incoming.tls_fingerprint:
            incoming = replace(incoming, tls_fingerprint=pinned[incoming.address])
        if outgoing is not None and outgoing.address in pinned and not outgoing.tls_fingerprint:
            outgoing = replace(outgoing, tls_fingerprint=pinned[outgoing.address])
        return replace(account, incoming=incoming, outgoing=outgoing)

    # -- login test ------------------------------------------------------------------------

    def _run_test(self, account: Account) -> None:
        self._busy = True
        self._generation += 1
        self.cancel = threading.Event()
        self._test_lines = []
        self._untrusted = []
        self.query_one("#test-failure", Static).update("")
        self.query_one("#trust", Button).display = False
        self.query_one("#retry", Button).display = False
        self._show("testing")
        self._render_test_log()
        self.query_one("#testing-back", Button).focus()
        self._test(account, self._generation, self.cancel)

    @work(thread=True, exclusive=True, group="setup-test", exit_on_error=False)
    def _test(self, account: Account, generation: int, cancel: threading.Event) -> None:
        def on_event(event: Event) -> None:
            self.app.call_from_thread(self._tested_one, generation, event)

        try:
            password = self.password or self.setup.stored_password(account)
            result = self.setup.try_login(account, password, self.discovery, on_event, cancel)
            status = self.setup.password_status() if result.ok else None
        except MailError as exc:
            self.app.call_from_thread(self._test_error, generation, exc)
            return
        self.app.call_from_thread(self._tested, generation, account, result, status)

    def _render_test_log(self) -> None:
        text = Text()
        for line in self._test_lines:
            text.append_text(line)
            text.append("\n")
        if self._busy:
            text.append("Testing...", style="italic")
        self.query_one("#test-log", Static).update(text)

    def _tested_one(self, generation: int, event: Event) -> None:
        if generation != self._generation:
            return
        if isinstance(event, ServerCheckStarted):
            endpoint = event.endpoint
            self._test_lines.append(
                Text(
                    f"{event.role.value.title()}: {endpoint.protocol.value.upper()} "
                    f"{safe_line(endpoint.address)} ({endpoint.security.value}) as "
                    f"{safe_line(endpoint.username)}"
                )
            )
        elif isinstance(event, ServerChecked):
            report = event.report
            if report.ok:
                tls = report.tls
                how = ""
                if tls is not None:
                    trust_kind = "pinned certificate" if tls.pinned else "verified certificate"
                    how = f" ({safe_line(tls.version)}, {trust_kind})"
                self._test_lines.append(Text(f"• ok: logged in{how}", style="green"))
            else:
                title = report.error.title if report.error else "failed"
                self._test_lines.append(Text(f"• failed: {safe_line(title)}", style="red"))
        self._render_test_log()

    def _test_error(self, generation: int, error: MailError) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self._render_test_log()
        text = Text(f"{safe_line(error.title)}\n", style="bold red")
        text.append_text(_text(error.message))
        self.query_one("#test-failure", Static).update(text)
        self.query_one("#retry", Button).display = True

    def _tested(
        self, generation: int, account: Account, result: LoginTest, status: StoreStatus | None
    ) -> None:
        if generation != self._generation:
            return
        self._busy = False
        self._render_test_log()
        if result.cancelled:
            return
        if not result.ok:
            self._show_failures(result)
            return
        self.account = account
        kind = status.kind if status is not None else "keyring"
        if self.editing is not None and not self.password:
            self._save(PasswordPlace.KEEP)
        elif kind == "keyring":
            self._save(PasswordPlace.AUTOMATIC)
        else:
            self._ask_place(status)

    def _show_failures(self, result: LoginTest) -> None:
        text = Text()
        self._untrusted = [f for f in result.failures if f.fingerprint]
        for failure in result.failures:
            if text:
                text.append("\n\n")
            where = f"{failure.role.value.title()} server"
            text.append(f"{where}: {failure.title}\n", style="bold red")
            text.append(safe_text(failure.advice))
            if failure.fingerprint:
                half = len(failure.fingerprint) // 2 + 1  # two lines of 16 pairs: fits 80
                text.append(
                    f"\nSHA-256 {failure.fingerprint[:half]}\n        {failure.fingerprint[half:]}",
                    style="bold",
                )
            if failure.help_url:
                text.append(f"\nHelp: {safe_line(failure.help_url)}")
            text.append("\nIt said: ", style="dim")
            text.append(safe_text(failure.detail), style="dim")
        self.query_one("#test-failure", Static).update(text)
        self.query_one("#retry", Button).display = True
        trust_button = self.query_one("#trust", Button)
        trust_button.display = bool(self._untrusted)
        focus = trust_button if self._untrusted else self.query_one("#testing-back", Button)
        focus.focus()
        self.call_after_refresh(focus.scroll_visible)

    @on(Button.Pressed, "#trust")
    def _trust(self) -> None:
        if self.account is None or not self._untrusted or self._busy:
            return
        self.account = trust(self.account, self._untrusted)
        self._run_test(self.account)

    @on(Button.Pressed, "#testing-back")
    def _testing_back(self) -> None:
        self.action_back()

    # -- where the password goes -----------------------------------------------------------

    def _ask_place(self, status: StoreStatus | None) -> None:
        reason = safe_line(status.reason) if status is not None else ""
        kind = status.kind if status is not None else "session"
        vault = self.setup.secrets.vault_path
        if kind == "vault":
            why = (
                f"No keyring answers here ({reason}), and tuimail's encrypted vault {vault} "
                "exists. Type its passphrase to keep the password there, or choose another place."
            )
        else:
            why = f"The password cannot go to a keyring here: {reason}. Where should it go?"
        self.query_one("#password-why", Static).update(Text(why))
        self._vault_exists = kind == "vault"
        self._show("store")
        self._place_changed()
        self.query_one("#place", RadioSet).focus()

    def _place(self) -> PasswordPlace:
        pressed = self.query_one("#place", RadioSet).pressed_button
        ids = {
            "place-vault": PasswordPlace.VAULT,
            "place-command": PasswordPlace.COMMAND,
            "place-session": PasswordPlace.SESSION,
        }
        return ids.get(
            pressed.id if pressed is not None and pressed.id else "", PasswordPlace.VAULT
        )

    @on(RadioSet.Changed, "#place")
    def _place_changed(self) -> None:
        place = self._place()
        vault = self.setup.secrets.vault_path
        exists = self._vault_exists
        notes = {
            PasswordPlace.VAULT: (
                f"Saved encrypted in {vault}, locked with "
                + ("its passphrase" if exists else "a passphrase you choose now")
                + "; tuimail asks for the passphrase once each time it starts."
            ),
            PasswordPlace.COMMAND: (
                "Nothing saved by tuimail: it runs this command (pass, gopass, a secret tool) "
                "whenever it needs the password. The command is written in the settings."
            ),
            PasswordPlace.SESSION: (
                "Nothing saved: the password stays in memory until tuimail quits. Next time, "
                "store it with: tuimail password set ACCOUNT"
            ),
        }
        self.query_one("#place-note", Static).update(Text(notes[place]))
        self.query_one("#passphrase-row").display = place is PasswordPlace.VAULT
        self.query_one("#passphrase2-row").display = place is PasswordPlace.VAULT and not exists
        self.query_one("#command-row").display = place is PasswordPlace.COMMAND

    @on(Input.Submitted, "#passphrase, #passphrase2, #command")
    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        place = self._place()
        if place is PasswordPlace.VAULT and not self._vault_exists:
            first = self.query_one("#passphrase", Input).value
            if not first:
                self._error("Choose a passphrase for the vault.")
                self.query_one("#passphrase", Input).focus()
                return
            if self.query_one("#passphrase2", Input).value != first:
                self._error("The two passphrases differ.")
                self.query_one("#passphrase2", Input).focus()
                return
        self._save(place)

    def _save(self, place: PasswordPlace) -> None:
        if self.account is None:
            return
        self._busy = True
        self._do_save(
            self.account,
            place,
            self.query_one("#passphrase", Input).value or None,
            self.query_one("#command", Input).value or None,
        )

    @work(thread=True, exclusive=True, group="setup-save", exit_on_error=False)
    def _do_save(
        self, account: Account, place: PasswordPlace, passphrase: str | None, command: str | None
    ) -> None:
        try:
            saved = self.setup.save(
                account,
                self.password,
                place,
                passphrase=passphrase,
                command=command,
                editing=self.editing is not None,
            )
        except MailError as exc:
            self.app.call_from_thread(self._save_failed, exc)
            return
        self.app.call_from_thread(self._saved, saved)

    def _save_failed(self, error: MailError) -> None:
        self._busy = False
        self._error(f"Not saved: {error.title}: {error.message}")

    def _saved(self, saved: Saved) -> None:
        self._busy = False
        self.saved = saved
        account = saved.account
        text = Text("Saved. ", style="bold green")
        text.append(
            f"Account {account.id!r} ({safe_line(account.email)}) is in "
            f"{safe_line(str(saved.settings.path))}.\n\n"
        )
        text.append(safe_text(saved.password_note))
        text.append("\n\nPress enter to open your mail; tuimail starts its first sync.")
        self.query_one("#saved-text", Static).update(text)
        self._show("saved")
        self.query_one("#open", Button).focus()

    @on(Button.Pressed, "#open")
    def _finish(self) -> None:
        self.dismiss(self.saved)
