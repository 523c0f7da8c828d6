"""Typed Python wrapper around mailstack.sh: start, use and stop a real Dovecot + Postfix."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import smtplib
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().with_name("mailstack.sh")
INSTALL_HINT = "run `bash tests/mailstack/mailstack.sh install` as root (the test command does)"
DOVEADM = "/usr/bin/doveadm"
POSTFIX = "/usr/sbin/postfix"

# executable -> Debian package that provides it (what `mailstack.sh install` installs)
_REQUIRED = {
    "/usr/sbin/dovecot": "dovecot-core",
    DOVEADM: "dovecot-core",
    "/usr/lib/dovecot/imap": "dovecot-imapd",
    "/usr/lib/dovecot/pop3": "dovecot-pop3d",
    "/usr/lib/dovecot/lmtp": "dovecot-lmtpd",
    "/usr/sbin/postfix": "postfix",
    "/usr/bin/openssl": "openssl",
}
# the script reads these MAILSTACK_* knobs from the environment; everything else
# (MAILSTACK_USERS, MAILSTACK_DOMAIN, MAILSTACK_SEED, ...) is dropped so that a
# developer's shell cannot change the users, passwords or seeded data of a test run
_PASSED_THROUGH = frozenset({"MAILSTACK_MAIL_UID", "MAILSTACK_MAIL_GID"})

_START_TIMEOUT = 120.0
_STOP_TIMEOUT = 60.0
_SEED_TIMEOUT = 900.0
_DOVEADM_TIMEOUT = 120.0
_LMTP_TIMEOUT = 30.0


class MailStackError(RuntimeError):
    """The mail stack could not be started, used or stopped."""


@dataclass(frozen=True)
class MailStack:
    """A running stack: where it lives, its host, domain, CA file and ports (from mailstack.env)."""

    dir: Path
    host: str
    domain: str
    ca_file: Path
    imap: int
    imaps: int
    pop3: int
    pop3s: int
    submission: int
    smtps: int
    smtp: int
    lmtp: int

    def password(self, user: str) -> str:
        """Password of `user` ("alice" or "alice@example.test"), as written to mailstack.env."""
        local = self._local_part(user)
        key = "MAILSTACK_PASS_" + local.upper().replace("-", "_")
        env = read_env(self.dir)
        if key not in env:
            raise KeyError(f"no user {user!r} in this stack (users: {env.get('MAILSTACK_USERS')})")
        return env[key]

    def address(self, user: str) -> str:
        """Mail address of `user`: "alice" -> "alice@example.test"; full addresses pass through."""
        return user if "@" in user else f"{user}@{self.domain}"

    def seed(self, user: str, n: int, mailbox: str = "INBOX") -> None:
        """Write `n` synthetic messages into `user`'s `mailbox` (created if needed)."""
        if n < 0:
            raise ValueError(f"n must be >= 0, not {n}")
        _run_script("seed", str(self.dir), user, str(n), mailbox, timeout=_SEED_TIMEOUT)

    def deliver(self, user: str, raw: bytes) -> None:
        """Deliver one raw RFC 5322 message to `user`'s INBOX over LMTP.

        Synchronous: once this returns, the message is in the mailbox (no queue, no polling).
        """
        data = re.sub(rb"\r?\n", b"\r\n", raw)
        with smtplib.LMTP(self.host, self.lmtp, timeout=_LMTP_TIMEOUT) as lmtp:
            refused = lmtp.sendmail("", [self.address(user)], data)
        if refused:
            raise MailStackError(f"LMTP delivery to {user!r} refused: {refused}")

    def doveadm(self, *args: str) -> str:
        """Run `doveadm -c <this stack's dovecot.conf> ARGS...` and return its stdout."""
        conf = read_env(self.dir).get(
            "MAILSTACK_DOVECOT_CONF", str(self.dir / "etc" / "dovecot.conf")
        )
        return _run([DOVEADM, "-c", conf, *args], timeout=_DOVEADM_TIMEOUT)

    def postfix(self, action: str) -> None:
        """Run `postfix -c <this stack's config> ACTION` ("stop", "start", "flush")."""
        conf = read_env(self.dir).get("MAILSTACK_POSTFIX_CONF", str(self.dir / "postfix" / "etc"))
        # no pipes: Postfix's master would keep them open and this call would never return
        done = subprocess.run(
            [POSTFIX, "-c", conf, action],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=_DOVEADM_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            raise MailStackError(f"postfix {action} failed (exit status {done.returncode})")

    def _local_part(self, user: str) -> str:
        local, _, domain = user.partition("@")
        if domain and domain != self.domain:
            raise KeyError(f"{user!r} is not in this stack's domain {self.domain}")
        return local


def read_env(dir: Path) -> dict[str, str]:
    """Parse DIR/mailstack.env (KEY=VALUE lines written by `mailstack.sh start`)."""
    path = dir / "mailstack.env"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise MailStackError(f"cannot read {path}: {e}") from e
    env: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key:
            env[key] = value.strip('"')
    return env


def start_stack(dir: Path, *, port_base: int = 10000, host: str = "127.0.0.1") -> MailStack:
    """Start Dovecot + Postfix living in `dir` on `host`, ports counted from `port_base`.

    Never leaves a half-started stack behind: if anything fails, `dir` is stopped again.
    Raises MailStackError (with the script's stderr) on failure.
    """
    _check_installed()
    if os.geteuid() != 0:
        raise MailStackError(
            "the mail stack must be started as root (Postfix's master starts as root)"
        )
    dir = dir.resolve()
    _check_reachable(dir)
    dir.mkdir(parents=True, exist_ok=True)
    _check_reachable(dir)  # again: parents just made under a strict umask may lack o+x
    if _is_running(dir):
        raise MailStackError(f"a mail stack is already running in {dir}; stop it first")
    env = _script_env()
    env["MAILSTACK_PORT_BASE"] = str(port_base)
    env["MAILSTACK_HOST"] = host
    try:
        _run_script("start", str(dir), env=env, timeout=_START_TIMEOUT)
        return _load(dir)
    except BaseException as e:
        try:
            _run_script("stop", str(dir), timeout=_STOP_TIMEOUT)
        except MailStackError as stop_error:
            e.add_note(f"cleanup after the failed start failed too: {stop_error}")
        raise


def stop_stack(stack: MailStack) -> None:
    """Stop the stack; raises MailStackError if any of its processes is still running."""
    _run_script("stop", str(stack.dir), timeout=_STOP_TIMEOUT)


def _load(dir: Path) -> MailStack:
    env = read_env(dir)
    try:
        return MailStack(
            dir=dir,
            host=env["MAILSTACK_HOST"],
            domain=env["MAILSTACK_DOMAIN"],
            ca_file=Path(env["MAILSTACK_CA_CERT"]),
            imap=int(env["MAILSTACK_IMAP_PORT"]),
            imaps=int(env["MAILSTACK_IMAPS_PORT"]),
            pop3=int(env["MAILSTACK_POP3_PORT"]),
            pop3s=int(env["MAILSTACK_POP3S_PORT"]),
            submission=int(env["MAILSTACK_SUBMISSION_PORT"]),
            smtps=int(env["MAILSTACK_SMTPS_PORT"]),
            smtp=int(env["MAILSTACK_SMTP_PORT"]),
            lmtp=int(env["MAILSTACK_LMTP_PORT"]),
        )
    except (KeyError, ValueError) as e:
        raise MailStackError(f"{dir / 'mailstack.env'} is incomplete or malformed: {e!r}") from e


def _check_installed() -> None:
    missing = sorted({pkg for exe, pkg in _REQUIRED.items() if not os.access(exe, os.X_OK)})
    if shutil.which("python3") is None:
        missing.append("python3")
    if missing:
        raise MailStackError(
            f"the test mail stack needs packages that are not installed ({', '.join(missing)}): "
            + INSTALL_HINT
        )


def _check_reachable(dir: Path) -> None:
    """Dovecot and Postfix run as unprivileged users: every parent of `dir` needs o+x."""
    for parent in dir.parents:
        if not parent.exists():
            continue
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise MailStackError(
                f"{parent} is not traversable by other users (mode {stat.filemode(mode)}), so "
                f"Dovecot and Postfix (users dovecot, postfix and the mail uid) cannot reach "
                f"{dir}. Use a directory made by tempfile.mkdtemp() instead; not pytest's "
                f"tmp_path: every pytest start resets /tmp/pytest-of-<user> to mode 0700"
            )


def _is_running(dir: Path) -> bool:
    if not (dir / "state" / "vars").is_file():
        return False
    status = subprocess.run(
        ["bash", str(SCRIPT), "status", str(dir)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=_STOP_TIMEOUT,
        env=_script_env(),
        check=False,
    )
    return status.returncode == 0


def _script_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MAILSTACK_") or k in _PASSED_THROUGH
    }


def _run_script(*args: str, timeout: float, env: dict[str, str] | None = None) -> str:
    return _run(["bash", str(SCRIPT), *args], timeout=timeout, env=env or _script_env())


def _run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None) -> str:
    # capture_output is safe: mailstack.sh starts both daemons with stdin/stdout/stderr
    # redirected away from our pipes (Dovecot's master would otherwise hold stderr open forever
    # and this call would never return); the timeout is the last line of defence.
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
            check=True,
        )
    except subprocess.CalledProcessError as e:
        raise MailStackError(
            f"`{shlex.join(cmd)}` failed with exit status {e.returncode}:\n"
            f"{_text(e.stderr).strip()}"
        ) from e
    except subprocess.TimeoutExpired as e:
        raise MailStackError(
            f"`{shlex.join(cmd)}` did not finish within {timeout:.0f} s:\n{_text(e.stderr).strip()}"
        ) from e
    return done.stdout


def _text(output: str | bytes | None) -> str:
    if output is None:
        return ""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output
