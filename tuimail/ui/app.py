"""The tuimail app: screens over one MailClient, keys remappable, errors shown, no traceback."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Account, Role
from tuimail.model.errors import MailError
from tuimail.model.message import Draft
from tuimail.services.client import MailClient
from tuimail.ui.screens.dialogs import ConfirmDialog, SecretDialog
from tuimail.ui.screens.help import HelpScreen
from tuimail.ui.screens.inbox import InboxScreen
from tuimail.ui.text import error_text

if TYPE_CHECKING:
    from tuimail.model.account import Account
    from tuimail.services.setup import AccountSetup, Saved
    from tuimail.ui.screens.reader import ReaderScreen

Editor = Callable[[str], str]


class NoAccountScreen(Screen[None]):
    """What the app shows with no account yet (until the setup wizard exists)."""

    BINDINGS = [Binding("q", "app.quit", "Quit", id="noaccount.quit")]

    def __init__(self, config_file: str) -> None:
        super().__init__()
        self.config_file = config_file

    def compose(self) -> ComposeResult:
        text = Text("No account is set up yet.\n\n", style="bold")
        text.append("Try tuimail on a demo mailbox:   tuimail --demo\n")
        text.append(f"Or write the settings file:      {self.config_file}\n")
        text.append("(see Settings in the README), then run tuimail again.\n\n")
        text.append("Press q to leave.", style="dim")
        yield Static(text, id="noaccount")
        yield Footer()


class TuimailApp(App[None]):
    """A terminal mail client."""

    CSS_PATH = "tuimail.tcss"
    TITLE = "tuimail"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("c", "compose_new", "Compose", id="app.compose", show=False),
        Binding("ctrl+t", "toggle_theme", "Light/dark", id="app.theme", show=False),
        Binding("A", "accounts", "Accounts", id="app.accounts", show=False),
    ]

    def __init__(
        self,
        client: MailClient | None,
        *,
        keymap: Mapping[str, str] | None = None,
        editor: Editor | None = None,
        config_file: str = "",
        sync_on_start: bool = True,
        setup: AccountSetup | None = None,
        start_setup: bool = False,
    ) -> None:
        super().__init__()
        self.setup = setup
        """Adds, edits and removes accounts; None where the settings cannot be changed (demo)."""
        self.start_setup = start_setup
        self.client = client
        self.user_keymap = dict(keymap or {})
        self.editor = editor
        self.config_file = config_file
        self.sync_on_start = sync_on_start
        self._questions: set[Future[tuple[str, bool] | None]] = set()

    def on_mount(self) -> None:
        if self.user_keymap:
            self.set_keymap(self.user_keymap)
        if os.environ.get("NO_COLOR"):
            self.theme = "textual-ansi"
        if self.client is not None:
            self.client.ask_password = self._ask_password
            self.client.ask_secret = self._ask_passphrase
        if self.client is None or not self.client.accounts:
            if self.setup is not None:
                self.open_setup(first_run=True)
                return
            self.push_screen(NoAccountScreen(self.config_file))
            return
        self.push_screen(InboxScreen(self.client, sync_on_start=self.sync_on_start))
        if self.start_setup and self.setup is not None:
            self.open_setup(first_run=True)

    def compose(self) -> ComposeResult:
        yield from ()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: tuimail's own actions for the screen shown, then Textual's."""
        for binding in [*self.BINDINGS, *getattr(screen, "BINDINGS", [])]:
            if isinstance(binding, Binding) and binding.description and binding.id:
                target = self if binding in self.BINDINGS else screen
                yield SystemCommand(
                    binding.description,
                    f"{binding.id} ({binding.key})",
                    partial(self._run_palette_action, target, binding.action),
                )
        yield from super().get_system_commands(screen)

    def _run_palette_action(self, target: App[None] | Screen[Any], action: str) -> None:
        self.call_later(target.run_action, action)

    # -- passwords, asked from workers -----------------------------------------------------

    def _ask_password(self, account: Account, role: Role, why: str) -> str | None:
        """A password asked in a dialog (from a worker thread); stored when the box is ticked."""
        server = "outgoing (SMTP) server" if role is Role.OUTGOING else "mail server"
        title = f"Password for {safe_line(account.email)} ({safe_line(account.id)}, {server})"
        answer = self._ask(SecretDialog(title, safe_line(why), can_remember=True))
        if answer is None:
            return None
        password, remember = answer
        if remember and self.client is not None:
            try:
                where = self.client.remember_password(account.id, password, role)
            except MailError as exc:
                self.call_from_thread(self.show_error, exc)
            else:
                self.call_from_thread(
                    self.notify, f"Password stored {safe_line(where)}.", markup=False
                )
        return password

    def _ask_passphrase(self, prompt: str) -> str | None:
        """The vault's passphrase, asked in a dialog (from a worker thread)."""
        title = safe_line(prompt).rstrip(": ")
        answer = self._ask(SecretDialog(title, "The passwords are kept in this encrypted vault."))
        return None if answer is None else answer[0]

    def _ask(self, dialog: SecretDialog) -> tuple[str, bool] | None:
        """Show a dialog from a worker thread and wait for its answer; None when the app closes."""
        if threading.get_ident() == self._thread_id:
            return None  # never block the thread that draws the screen
        answer: Future[tuple[str, bool] | None] = Future()

        def answered(result: tuple[str, bool] | None) -> None:
            if not answer.done():
                answer.set_result(result)

        self._questions.add(answer)
        try:
            self.call_from_thread(self.push_screen, dialog, answered)
            return answer.result()
        except RuntimeError:  # the app is not running any more
            return None
        finally:
            self._questions.discard(answer)

    def on_unmount(self) -> None:
        for question in list(self._questions):  # workers waiting on a dialog go on (and end)
            if not question.done():
                question.set_result(None)
        if self.client is not None:
            self.client.stop_watching()

    # -- errors ----------------------------------------------------------------------------

    def show_error(self, error: MailError) -> None:
        """A MailError as a notification (title and message), never a traceback."""
        title, message = error_text(error)
        self.notify(message, title=title, severity="error", markup=False, timeout=8)

    def _fatal_error(self) -> None:
        # Textual's crash report prints every local variable of every frame: a password in one
        # would be shown. Say what happened without it.
        self.bell()
        self._exit_renderables.append(
            Text(
                "tuimail stopped because of an internal error. Run it with TUIMAIL_DEBUG=1 "
                "to see the details.",
                style="bold red",
            )
        )
        if os.environ.get("TUIMAIL_DEBUG"):
            from rich.traceback import Traceback  # noqa: PLC0415 - it loads pygments: only here

            self._exit_renderables.append(Traceback(show_locals=False))
        self._close_messages_no_wait()

    # -- actions ---------------------------------------------------------------------------

    async def action_quit(self) -> None:
        """Quit, after asking when a message being written was not saved."""
        unsaved = [s for s in self.screen_stack if getattr(s, "unsaved", False)]
        if not unsaved:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(
            ConfirmDialog("A message you are writing is not saved. Quit anyway?"),
            callback=answered,
        )

    # -- accounts --------------------------------------------------------------------------

    def open_setup(self, *, editing: Account | None = None, first_run: bool = False) -> None:
        """The setup wizard: add an account, or edit one (the same form, prefilled)."""
        if self.setup is None:
            return
        from tuimail.ui.screens.setup import SetupScreen  # noqa: PLC0415 - loaded when used

        leave_when_cancelled = first_run and (self.start_setup or not self._accounts())
        self.push_screen(
            SetupScreen(self.setup, editing=editing, first_run=first_run),
            callback=partial(self._setup_done, leave_when_cancelled),
        )

    def _accounts(self) -> tuple[Account, ...]:
        return self.client.accounts if self.client is not None else ()

    def _setup_done(self, leave_when_cancelled: bool, saved: Saved | None) -> None:
        if saved is None:
            if leave_when_cancelled:
                self.exit()
            return
        self.start_setup = False
        self.call_later(self._open_accounts, saved.settings.accounts)

    async def _open_accounts(self, accounts: tuple[Account, ...]) -> None:
        """Start over on these accounts: a new client, the inbox, its first sync."""
        if self.setup is None:
            return
        self.client = self.setup.client(accounts)
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        if not accounts:
            self.open_setup(first_run=True)
            return
        await self.push_screen(InboxScreen(self.client, sync_on_start=self.sync_on_start))

    def action_accounts(self) -> None:
        """Account management: add, edit or remove."""
        if self.setup is None:
            self.notify("Accounts cannot be changed here (the demo).", markup=False)
            return
        from tuimail.ui.screens.accounts import AccountsScreen  # noqa: PLC0415 - when used

        self.push_screen(
            AccountsScreen(self._accounts(), str(self.setup.config_file)),
            callback=self._account_chosen,
        )

    def _account_chosen(self, choice: tuple[str, str] | None) -> None:
        if choice is None:
            return
        what, account_id = choice
        if what == "add":
            self.open_setup()
            return
        account = next((a for a in self._accounts() if a.id == account_id), None)
        if account is None:
            return
        if what == "edit":
            if account.incoming is None:
                self.notify(
                    "This account reads local files: edit it in the settings file.", markup=False
                )
                return
            self.open_setup(editing=account)
            return
        question = Text(f"Remove the account {account.id!r} ({account.email})?\n\n")
        question.append(
            "Its settings leave the settings file (the rest of the file stays as it is) and its "
            "stored password is forgotten. The mail on the server is not touched; tuimail's "
            "copy of it cached on this computer is deleted."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self._remove_account(account.id)

        self.push_screen(
            ConfirmDialog(question, title="Remove account", yes="Remove"), callback=answered
        )

    @work(thread=True, group="accounts", exit_on_error=False)
    def _remove_account(self, account_id: str) -> None:
        if self.setup is None:
            return
        try:
            settings, dropped = self.setup.remove(account_id)
        except MailError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(
            self.notify,
            f"Removed {account_id!r}: {dropped} cached messages deleted; "
            "the server keeps its mail.",
            title="Account removed",
            markup=False,
        )
        self.call_from_thread(self.call_later, self._open_accounts, settings.accounts)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_compose_new(self) -> None:
        self.compose_message(None)

    def on_reader_screen_compose_requested(self, event: ReaderScreen.ComposeRequested) -> None:
        """The reader asked for a reply, reply-all or forward of the message it shows."""
        self.compose_message((event.draft_kind, event.key))

    def compose_message(self, source: tuple[str, int] | None) -> None:
        """Open the composer: a new message, or a reply/reply_all/forward of a message key."""
        if self.client is None or not self.client.accounts:
            return  # nothing to write from yet (the setup wizard is open)
        if source is None:
            account = self.client.accounts[0]
            self._open_composer(Draft(account=account.id))
            return
        self._prepare_draft(*source)

    @work(thread=True, group="compose", exit_on_error=False)
    def _prepare_draft(self, kind: str, key: int) -> None:
        client = self.client
        if client is None:
            return
        try:
            draft = (
                client.forward(key)
                if kind == "forward"
                else client.reply(key, reply_all=kind == "reply_all")
            )
        except MailError as exc:
            self.call_from_thread(self.show_error, exc)
            return
        self.call_from_thread(self._open_composer, draft)

    def _open_composer(self, draft: Draft) -> None:
        from tuimail.ui.screens.composer import ComposerScreen  # noqa: PLC0415 - when used

        if self.client is not None:
            self.push_screen(ComposerScreen(self.client, draft, editor=self.editor))
