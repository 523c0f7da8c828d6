"""The command line and composition root: parse arguments, load settings, run a command."""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from tuimail import __version__
from tuimail.cli import commands
from tuimail.config.paths import CONFIG_ENV, Paths, default_paths
from tuimail.config.secrets import Secrets
from tuimail.config.settings import Settings, load_settings
from tuimail.mime.sanitize import safe_text
from tuimail.model.account import Role
from tuimail.model.errors import ConfigError, MailError, SecretError
from tuimail.model.report import ServerReport
from tuimail.services.events import Event, ServerChecked, ServerCheckStarted

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tuimail",
        description="A terminal email client.",
        epilog="Settings: $XDG_CONFIG_HOME/tuimail/config.toml (see README). "
        "Set TUIMAIL_CONFIG or use --config to read another file.",
    )
    parser.add_argument("--version", action="version", version=f"tuimail {__version__}")
    parser.add_argument("--config", metavar="PATH", help="read settings from PATH")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="use a demo mailbox generated on this machine (no account needed, nothing is sent)",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--demo", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    common.add_argument(
        "--config", metavar="PATH", default=argparse.SUPPRESS, help="read settings from PATH"
    )
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = subcommands.add_parser(
        "check",
        parents=[common],
        help="connect and log in to each server of the accounts, and report what was found",
        description="Connect to each incoming and outgoing server, verify TLS, log in, and "
        "report the greeting, TLS, capabilities and login methods. Exit status 0 when all pass.",
    )
    check.add_argument("account", nargs="?", help="check only this account")

    password = subcommands.add_parser("password", help="store, forget or locate account passwords")
    actions = password.add_subparsers(dest="action", metavar="ACTION", required=True)
    set_ = actions.add_parser("set", help="store the password of an account", parents=[common])
    set_.add_argument("account")
    set_.add_argument(
        "--outgoing",
        action="store_true",
        help="store a separate password for the outgoing (SMTP) server",
    )
    set_.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )
    forget = actions.add_parser(
        "forget", help="remove the stored passwords of an account", parents=[common]
    )
    forget.add_argument("account")
    actions.add_parser("where", help="say where passwords are kept here, and why", parents=[common])
    subcommands.add_parser(
        "setup",
        parents=[common],
        help="add an account: type an address and a password, tuimail finds and tests the rest",
        description="Open the setup wizard: tuimail looks up the settings for the address, "
        "logs in to the servers for real, then saves the account and opens it.",
    )
    commands.add_mail_commands(subcommands, common)
    commands.add_send_commands(subcommands, common)
    return parser


def _has_terminal() -> bool:
    """True when a controlling terminal can be asked, even with stdin redirected."""
    try:
        with open("/dev/tty", "rb"):
            return True
    except OSError:
        return False


def _tty_prompt(prompt: str) -> str | None:
    """Ask on the terminal (getpass reads /dev/tty, not stdin); None when there is none."""
    if not _has_terminal():
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        return None


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _run_app(paths: Paths, settings: Settings, *, demo: bool, start_setup: bool = False) -> int:
    """The full-screen app (imported only here: scripts never load Textual)."""
    from tuimail.services.client import MailClient  # noqa: PLC0415 - keeps scripts light
    from tuimail.services.setup import AccountSetup  # noqa: PLC0415
    from tuimail.ui.app import TuimailApp  # noqa: PLC0415 - Textual loads only for the app

    # no terminal prompts while the app owns the terminal: the app asks in its own dialogs
    secrets = Secrets(
        paths.vault_file,
        settings.secret_store,
        settings.keyring_timeout,
        ask_passphrase=lambda prompt: client.passphrase(prompt),  # noqa: PLW0108 - made below
    )
    client = MailClient(
        paths,
        settings.accounts,
        secrets.password,
        cache_file=commands.cache_file(paths),
        demo=demo,
        keep_password=lambda account, password, role: (
            secrets.store(account, password, role).description
        ),
        open_commands=settings.open_commands,
    )
    setup = None if demo else AccountSetup(paths, secrets, cache_file=commands.cache_file(paths))
    app = TuimailApp(
        client,
        keymap=dict(settings.keys),
        config_file=str(paths.config_file),
        setup=setup,
        start_setup=start_setup,
    )
    app.run()
    return app.return_code or EXIT_OK


def _tty_question(prompt: str) -> str:
    try:
        return input(prompt)
    except EOFError:
        return ""


def _secrets(paths: Paths, settings: Settings) -> Secrets:
    return Secrets(
        paths.vault_file,
        settings.secret_store,
        settings.keyring_timeout,
        ask_password=_tty_prompt,
        ask_passphrase=_tty_prompt,
    )


def _wrap(text: str, first: str, rest: str, width: int) -> str:
    """``text`` wrapped to the terminal; long tokens such as fingerprints are never split."""
    lines = textwrap.wrap(
        text,
        width=width - 1,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return "\n".join(lines or [first.rstrip()]) + "\n"


def _print_report(report: ServerReport, out: TextIO) -> None:
    width = max(60, shutil.get_terminal_size().columns)

    def row(label: str, value: str) -> None:
        if value:
            out.write(_wrap(value, f"  {label:<13} ", " " * 16, width))

    row("greeting", report.greeting)
    if report.tls is not None:
        tls = report.tls
        row("TLS", f"{tls.version}, {tls.cipher}")
        trust = "pinned fingerprint" if tls.pinned else "verified"
        row("certificate", f"{tls.subject} ({trust}, valid until {tls.not_after})")
        row("issuer", tls.issuer)
        row("SHA-256", tls.fingerprint)
    elif report.greeting:
        row("TLS", "none: this connection is NOT encrypted")
    row("capabilities", " ".join(report.capabilities))
    row("login methods", " ".join(report.auth_mechanisms))
    if report.ok:
        out.write("  ok: logged in\n")
    elif report.error is not None:
        lines = report.error.message.splitlines() or [""]
        out.write(_wrap(f"FAILED: {report.error.title}: {lines[0]}", "  ", " " * 4, width))
        for line in lines[1:]:
            out.write(_wrap(line.strip(), " " * 4, " " * 6, width))


def _check(args: argparse.Namespace, paths: Paths, settings: Settings, out: TextIO) -> int:
    accounts = [settings.account(args.account)] if args.account else list(settings.accounts)
    if not accounts:
        raise ConfigError(
            f"No account is configured in {settings.path}. See 'Settings' in the README."
        )

    def on_event(event: Event) -> None:
        if isinstance(event, ServerCheckStarted):
            endpoint = event.endpoint
            out.write(
                f"{event.account} {event.role.value}: {endpoint.protocol.value.upper()} "
                f"{endpoint.address} ({endpoint.security.value}) as {endpoint.username}\n"
            )
            out.flush()
        elif isinstance(event, ServerChecked):
            _print_report(event.report, out)
            out.flush()

    if not any(account.endpoints for account in accounts):
        out.write("No server to check: these accounts keep their mail in local files.\n")
        return EXIT_OK
    from tuimail.services.check import check_accounts  # noqa: PLC0415 - only for this command

    reports = check_accounts(accounts, _secrets(paths, settings), on_event)
    passed = sum(1 for report in reports if report.ok)
    out.write(f"{passed} of {len(reports)} servers passed.\n")
    return EXIT_OK if passed == len(reports) else EXIT_FAILED


def _password(args: argparse.Namespace, paths: Paths, settings: Settings, out: TextIO) -> int:
    secrets = _secrets(paths, settings)
    if args.action == "where":
        status = secrets.status()
        out.write(f"Passwords: {status.description}.\nWhy: {status.reason}.\n")
        for account in settings.accounts:
            for role, endpoint in account.endpoints:
                if endpoint.password_command:
                    out.write(
                        f"{account.id} {role.value}: from its password_command "
                        f"({endpoint.password_command})\n"
                    )
        return EXIT_OK
    account = settings.account(args.account)
    if args.action == "forget":
        removed = secrets.forget(account.id)
        out.write(
            f"Removed from: {', '.join(removed)}.\n"
            if removed
            else f"No stored password for {account.id!r}.\n"
        )
        return EXIT_OK
    role = Role.OUTGOING if args.outgoing else Role.INCOMING
    if role is Role.OUTGOING and account.outgoing is None:
        raise ConfigError(f"Account {account.id!r} has no [accounts.{account.id}.outgoing] server.")
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        if not _has_terminal():
            raise SecretError("No terminal to ask for the password; use --stdin in scripts.")
        password = getpass.getpass(f"Password for {account.email} ({account.id} {role.value}): ")
        if getpass.getpass("Repeat it: ") != password:
            raise SecretError("The two passwords differ; nothing was stored.")
    status = secrets.store(account.id, password, role)
    out.write(f"Stored the password of {account.id!r}: {status.description}.\n")
    if status.kind != "keyring":
        out.write(f"Why not the OS keyring: {status.reason}.\n")
    return EXIT_OK


def run(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command line; return the exit status. Errors are printed, never raised."""
    out = out or sys.stdout
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        paths = default_paths(args.config)
        if args.demo:
            paths.ensure_private_dirs()
            root = paths.cache_dir / "demo"
            paths = Paths(config_file=paths.config_file, data_dir=root, cache_dir=root)
            paths.ensure_private_dirs()
            from tuimail.services.demo import demo_account  # noqa: PLC0415 - only for the demo

            settings = Settings(path=Path("(the demo)"), accounts=(demo_account(root),))
            if args.command is None:
                if _interactive():
                    return _run_app(paths, settings, demo=True)
                from tuimail.cli import mail  # noqa: PLC0415 - loaded only when it runs

                return mail.demo_overview(paths, settings, out)
        else:
            named = args.config is not None or bool(os.environ.get(CONFIG_ENV))
            settings = load_settings(paths.config_file, must_exist=named)
            if args.command is None and not settings.accounts:
                if _interactive():  # the setup wizard
                    return _run_app(paths, settings, demo=False)
                ask = _tty_question if _has_terminal() and sys.stdin.isatty() else None
                from tuimail.cli import mail  # noqa: PLC0415

                return mail.welcome(paths, settings, out, ask)
            if args.command is None and _interactive():
                return _run_app(paths, settings, demo=False)
            if args.command == "setup":
                if not _interactive():
                    raise ConfigError(
                        "tuimail setup needs a terminal. In a script, write the settings file "
                        f"{paths.config_file} (see Settings in the README)."
                    )
                return _run_app(paths, settings, demo=False, start_setup=True)
        if args.command == "check":
            return _check(args, paths, settings, out)
        if args.command == "password":
            return _password(args, paths, settings, out)
        if args.command in commands.SEND_COMMANDS:
            from tuimail.cli import send  # noqa: PLC0415 - each command loads what it needs

            return send.run_command(args, paths, settings, lambda: _secrets(paths, settings), out)
        if args.command in commands.MAIL_COMMANDS:
            from tuimail.cli import mail  # noqa: PLC0415

            return mail.run_command(args, paths, settings, lambda: _secrets(paths, settings), out)
        parser.print_help(out)
        return EXIT_OK
    except ConfigError as exc:
        sys.stderr.write(f"tuimail: {safe_text(exc.message)}\n")
        return EXIT_USAGE
    except MailError as exc:
        sys.stderr.write(f"tuimail: {exc.title}: {safe_text(exc.message)}\n")
        return EXIT_FAILED
    except KeyboardInterrupt:
        sys.stderr.write("tuimail: interrupted\n")
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """The console entry point."""
    try:
        return run(argv)
    except SystemExit as exc:  # argparse's --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except BrokenPipeError:  # `tuimail list | head`: the reader stopped; stop quietly too
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as exc:  # a bug: say so without a traceback, which could show secrets
        if os.environ.get("TUIMAIL_DEBUG"):
            raise
        sys.stderr.write(
            f"tuimail: internal error ({type(exc).__name__}). "
            "Run with TUIMAIL_DEBUG=1 to see the traceback.\n"
        )
        return 70
