"""Account management: the configured accounts, to add (the wizard), edit or remove one."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from tuimail.mime.sanitize import safe_line
from tuimail.model.account import Account


class AccountsScreen(ModalScreen[tuple[str, str] | None]):
    """Dismisses with ("add", ""), ("edit", id) or ("remove", id); None when closed."""

    DEFAULT_CSS = """
    AccountsScreen { align: center middle; background: $background 60%; }
    AccountsScreen > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    AccountsScreen #accounts-title { text-style: bold; }
    AccountsScreen OptionList { height: auto; max-height: 12; margin-top: 1; }
    AccountsScreen #accounts-help { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [
        Binding("a", "choose('add')", "Add", id="accounts.add"),
        Binding("e,enter", "choose('edit')", "Edit", id="accounts.edit"),
        Binding("d,delete", "choose('remove')", "Remove", id="accounts.remove"),
        Binding("escape,q", "close", "Close", id="accounts.close"),
    ]

    def __init__(self, accounts: tuple[Account, ...], config_file: str) -> None:
        super().__init__()
        self.accounts = accounts
        self.config_file = config_file

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Accounts"), id="accounts-title")
            options = []
            for account in self.accounts:
                label = Text(safe_line(account.id), style="bold")
                label.append(f"  {safe_line(account.email)}", style="")
                server = account.incoming
                where = (
                    f"  {server.protocol.value.upper()} {safe_line(server.address)}"
                    if server is not None
                    else "  local files"
                )
                label.append(where, style="dim")
                options.append(Option(label, id=account.id))
            yield OptionList(*options, id="account-list")
            yield Static(
                Text(
                    f"a add an account   e edit   d remove   escape close\n"
                    f"Settings file: {safe_line(self.config_file)}"
                ),
                id="accounts-help",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def _selected(self) -> str | None:
        option_list = self.query_one(OptionList)
        index = option_list.highlighted
        if index is None:
            return None
        return option_list.get_option_at_index(index).id

    def action_choose(self, what: str) -> None:
        """Add, or edit/remove the highlighted account."""
        if what == "add":
            self.dismiss(("add", ""))
            return
        chosen = self._selected()
        if chosen is not None:
            self.dismiss((what, chosen))

    def action_close(self) -> None:
        """Close without a change."""
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.dismiss(("edit", event.option.id))
