"""tuimail's built-in table of major mail providers: hosts, ports, login names and advice."""

from __future__ import annotations

from dataclasses import dataclass

from tuimail.model.account import Protocol, Security
from tuimail.model.discovery import ServerChoice, UsernameForm

IMAP, POP3, SMTP = Protocol.IMAP, Protocol.POP3, Protocol.SMTP
TLS, STARTTLS = Security.TLS, Security.STARTTLS
ADDRESS, LOCAL = UsernameForm.ADDRESS, UsernameForm.LOCAL_PART


@dataclass(frozen=True)
class Server:
    """One server of a provider, its login name still a form."""

    protocol: Protocol
    host: str
    port: int
    security: Security
    username: UsernameForm = ADDRESS

    def choice(self, email: str) -> ServerChoice:
        """This server for ``email``, the login name filled in."""
        name = email.rpartition("@")[0] if self.username is LOCAL else email
        return ServerChoice(self.protocol, self.host, self.port, self.security, name)


@dataclass(frozen=True)
class Provider:
    """A mail provider tuimail knows without asking the network."""

    name: str
    domains: tuple[str, ...]
    """Address domains served (``gmail.com``)."""
    mx: tuple[str, ...]
    """Domains of the provider's MX hosts, to recognise domains hosted there."""
    servers: tuple[Server, ...]
    """Best first within each protocol; IMAP before POP3."""
    notes: tuple[str, ...] = ()
    needs_app_password: bool = False
    oauth2_only: bool = False
    help_url: str | None = None

    @property
    def incoming(self) -> tuple[Server, ...]:
        """The IMAP and POP3 servers."""
        return tuple(s for s in self.servers if s.protocol is not SMTP)

    @property
    def outgoing(self) -> tuple[Server, ...]:
        """The SMTP submission servers."""
        return tuple(s for s in self.servers if s.protocol is SMTP)


def _tld_variants(name: str, suffixes: str) -> tuple[str, ...]:
    return tuple(f"{name}.{suffix}" for suffix in suffixes.split())


_ZOHO_NOTES = (
    "Switch on IMAP or POP access in Zoho Mail's settings first; with two-factor sign-in, use "
    "an application-specific password.",
)

PROVIDERS: tuple[Provider, ...] = (
    Provider(
        "Gmail",
        ("gmail.com", "googlemail.com"),
        ("google.com", "googlemail.com"),
        (
            Server(IMAP, "imap.gmail.com", 993, TLS),
            Server(POP3, "pop.gmail.com", 995, TLS),
            Server(SMTP, "smtp.gmail.com", 465, TLS),
            Server(SMTP, "smtp.gmail.com", 587, STARTTLS),
        ),
        notes=(
            "Google accepts your normal password only in its own apps: turn on 2-Step "
            "Verification and create an app password for tuimail.",
            "POP3 must be switched on in Gmail's settings (Forwarding and POP/IMAP) first.",
        ),
        needs_app_password=True,
        help_url="https://support.google.com/accounts/answer/185833",
    ),
    Provider(
        "Outlook.com (Microsoft)",
        (
            "outlook.com",
            "hotmail.com",
            "live.com",
            "msn.com",
            "windowslive.com",
            *_tld_variants("outlook", "at be cz de dk es fr ie it jp sk com.au com.br co.uk"),
            *_tld_variants("hotmail", "be ca de es fr it nl se co.uk co.jp com.au com.br"),
            *_tld_variants("live", "at be ca de dk fr it nl no se co.uk com.au com.mx"),
        ),
        ("outlook.com",),  # *.protection.outlook.com: Outlook.com and Microsoft 365 alike
        (
            Server(IMAP, "outlook.office365.com", 993, TLS),
            Server(POP3, "outlook.office365.com", 995, TLS),
            Server(SMTP, "smtp-mail.outlook.com", 587, STARTTLS),
            Server(SMTP, "smtp.office365.com", 587, STARTTLS),
        ),
        notes=(
            "Microsoft no longer accepts passwords or app passwords from mail programs "
            "(Outlook.com since September 2024, Microsoft 365 for IMAP and POP3 since 2022): "
            "only OAuth2, which tuimail cannot do yet.",
        ),
        oauth2_only=True,
        help_url=(
            "https://support.office.com/article/"
            "pop-imap-and-smtp-settings-for-outlook-com-d088b986-291d-42b8-9564-9c414e2aa040"
        ),
    ),
    Provider(
        "Yahoo Mail",
        (
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            *_tld_variants(
                "yahoo", "at be ca de dk es fr ie it nl no se co.uk co.in com.au com.br"
            ),
        ),
        ("yahoodns.net",),
        (
            Server(IMAP, "imap.mail.yahoo.com", 993, TLS),
            Server(POP3, "pop.mail.yahoo.com", 995, TLS),
            Server(SMTP, "smtp.mail.yahoo.com", 465, TLS),
            Server(SMTP, "smtp.mail.yahoo.com", 587, STARTTLS),
        ),
        notes=("Yahoo needs an app password: create one in Account Security.",),
        needs_app_password=True,
        help_url="https://help.yahoo.com/kb/SLN15241.html",
    ),
    Provider(
        "AOL Mail",
        ("aol.com", "aim.com", "aol.co.uk", "aol.de", "aol.fr"),
        (),  # AOL's MX hosts are Yahoo's (yahoodns.net)
        (
            Server(IMAP, "imap.aol.com", 993, TLS),
            Server(POP3, "pop.aol.com", 995, TLS),
            Server(SMTP, "smtp.aol.com", 465, TLS),
            Server(SMTP, "smtp.aol.com", 587, STARTTLS),
        ),
        notes=("AOL needs an app password: create one in Account Security.",),
        needs_app_password=True,
    ),
    Provider(
        "iCloud Mail",
        ("icloud.com", "me.com", "mac.com"),
        ("icloud.com",),
        (
            Server(IMAP, "imap.mail.me.com", 993, TLS, LOCAL),
            Server(SMTP, "smtp.mail.me.com", 587, STARTTLS),
        ),
        notes=(
            "iCloud needs an app-specific password (appleid.apple.com, Sign-In and Security).",
            "The IMAP login is the part of your iCloud address before the @; sending uses the "
            "whole address. With your own domain, log in with your iCloud address.",
        ),
        needs_app_password=True,
        help_url="https://support.apple.com/HT202304",
    ),
    Provider(
        "Fastmail",
        ("fastmail.com", "fastmail.fm", "fastmail.net", "fastmail.org", "fastmail.to"),
        ("messagingengine.com",),
        (
            Server(IMAP, "imap.fastmail.com", 993, TLS),
            Server(POP3, "pop.fastmail.com", 995, TLS),
            Server(SMTP, "smtp.fastmail.com", 465, TLS),
            Server(SMTP, "smtp.fastmail.com", 587, STARTTLS),
        ),
        notes=("Fastmail needs an app password (Settings, Privacy & Security, App passwords).",),
        needs_app_password=True,
    ),
    Provider(
        "GMX",
        ("gmx.net", "gmx.de", "gmx.at", "gmx.ch", "gmx.eu", "gmx.org", "gmx.info", "gmx.biz"),
        ("gmx.net",),
        (
            Server(IMAP, "imap.gmx.net", 993, TLS),
            Server(POP3, "pop.gmx.net", 995, TLS),
            Server(SMTP, "mail.gmx.net", 465, TLS),
            Server(SMTP, "mail.gmx.net", 587, STARTTLS),
        ),
        notes=("Allow access by POP3 & IMAP once in GMX's e-mail settings first.",),
        help_url="https://hilfe.gmx.net/pop-imap/einschalten.html",
    ),
    Provider(
        "GMX (international)",
        ("gmx.com", "gmx.us"),
        ("gmx.com",),
        (
            Server(IMAP, "imap.gmx.com", 993, TLS),
            Server(POP3, "pop.gmx.com", 995, TLS),
            Server(SMTP, "mail.gmx.com", 465, TLS),
            Server(SMTP, "mail.gmx.com", 587, STARTTLS),
        ),
        notes=("Allow access by POP3 & IMAP once in GMX's e-mail settings first.",),
    ),
    Provider(
        "WEB.DE",
        ("web.de",),
        ("web.de",),
        (
            Server(IMAP, "imap.web.de", 993, TLS),
            Server(POP3, "pop3.web.de", 995, TLS),
            Server(SMTP, "smtp.web.de", 587, STARTTLS),
        ),
        notes=("Allow access by POP3 & IMAP once in WEB.DE's e-mail settings first.",),
    ),
    Provider(
        "mail.com",
        ("mail.com", "email.com", "usa.com", "post.com", "consultant.com", "engineer.com"),
        ("mail.com",),
        (
            Server(IMAP, "imap.mail.com", 993, TLS),
            Server(POP3, "pop.mail.com", 995, TLS),
            Server(SMTP, "smtp.mail.com", 465, TLS),
            Server(SMTP, "smtp.mail.com", 587, STARTTLS),
        ),
        notes=(
            "Allow access by POP3 & IMAP in mail.com's settings first (it may need a paid plan).",
        ),
    ),
    Provider(
        "Zoho Mail",
        ("zoho.com", "zohomail.com"),
        (),
        (
            Server(IMAP, "imap.zoho.com", 993, TLS),
            Server(POP3, "pop.zoho.com", 995, TLS),
            Server(SMTP, "smtp.zoho.com", 465, TLS),
            Server(SMTP, "smtp.zoho.com", 587, STARTTLS),
        ),
        notes=_ZOHO_NOTES,
    ),
    Provider(
        "Zoho Mail (your domain)",
        (),
        ("zoho.com",),
        (
            Server(IMAP, "imappro.zoho.com", 993, TLS),
            Server(POP3, "poppro.zoho.com", 995, TLS),
            Server(SMTP, "smtppro.zoho.com", 465, TLS),
            Server(SMTP, "smtppro.zoho.com", 587, STARTTLS),
        ),
        notes=_ZOHO_NOTES,
    ),
    Provider(
        "Zoho Mail (EU)",
        ("zoho.eu", "zohomail.eu"),
        (),
        (
            Server(IMAP, "imap.zoho.eu", 993, TLS),
            Server(POP3, "pop.zoho.eu", 995, TLS),
            Server(SMTP, "smtp.zoho.eu", 465, TLS),
            Server(SMTP, "smtp.zoho.eu", 587, STARTTLS),
        ),
        notes=_ZOHO_NOTES,
    ),
    Provider(
        "Zoho Mail EU (your domain)",
        (),
        ("zoho.eu",),
        (
            Server(IMAP, "imappro.zoho.eu", 993, TLS),
            Server(POP3, "poppro.zoho.eu", 995, TLS),
            Server(SMTP, "smtppro.zoho.eu", 465, TLS),
            Server(SMTP, "smtppro.zoho.eu", 587, STARTTLS),
        ),
        notes=_ZOHO_NOTES,
    ),
    Provider(
        "Yandex Mail",
        ("yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz", "yandex.ua", "narod.ru"),
        ("yandex.net", "yandex.ru"),
        (
            Server(IMAP, "imap.yandex.com", 993, TLS),
            Server(POP3, "pop.yandex.com", 995, TLS),
            Server(SMTP, "smtp.yandex.com", 465, TLS),
        ),
        notes=(
            "Allow mail programs in Yandex Mail's settings and create an app password for "
            "mail (Yandex ID, Security).",
        ),
        needs_app_password=True,
    ),
    Provider(
        "Mail.ru",
        ("mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"),
        ("mail.ru",),
        (
            Server(IMAP, "imap.mail.ru", 993, TLS),
            Server(POP3, "pop.mail.ru", 995, TLS),
            Server(SMTP, "smtp.mail.ru", 465, TLS),
        ),
        notes=("Mail.ru needs a password for external apps (Settings, Security).",),
        needs_app_password=True,
    ),
    Provider(
        "Posteo",
        (
            "posteo.de",
            "posteo.net",
            *_tld_variants("posteo", "at be ca ch cl co dk es eu fi gl gr hn hu ie in it jp"),
            *_tld_variants(
                "posteo", "lt lu me mx my nl no nz org pe pl pm pt ro ru se sg tn uk us"
            ),
        ),
        ("posteo.de",),
        (
            Server(IMAP, "posteo.de", 993, TLS),
            Server(POP3, "posteo.de", 995, TLS),
            Server(SMTP, "posteo.de", 465, TLS),
            Server(SMTP, "posteo.de", 587, STARTTLS),
        ),
    ),
    Provider(
        "mailbox.org",
        ("mailbox.org",),
        ("mailbox.org",),
        (
            Server(IMAP, "imap.mailbox.org", 993, TLS),
            Server(POP3, "pop3.mailbox.org", 995, TLS),
            Server(SMTP, "smtp.mailbox.org", 465, TLS),
            Server(SMTP, "smtp.mailbox.org", 587, STARTTLS),
        ),
    ),
    Provider(
        "Proton Mail (through Proton Mail Bridge)",
        ("proton.me", "protonmail.com", "protonmail.ch", "pm.me"),
        ("protonmail.ch",),
        (
            Server(IMAP, "127.0.0.1", 1143, STARTTLS),
            Server(SMTP, "127.0.0.1", 1025, STARTTLS),
        ),
        notes=(
            "Proton Mail speaks IMAP and SMTP only through Proton Mail Bridge (paid plans), "
            "which runs on this computer: start it, add the account there, and use the user "
            "name and the password the Bridge shows (not your Proton password).",
            "The Bridge uses its own certificate: trust it for this account when asked (or "
            "use the certificate the Bridge exports).",
        ),
        needs_app_password=True,
        help_url="https://proton.me/mail/bridge",
    ),
    Provider(
        "Tuta",
        ("tuta.com", "tutanota.com", "tutanota.de", "tutamail.com", "tuta.io", "keemail.me"),
        ("tutanota.de",),
        (),
        notes=("Tuta offers no IMAP, POP3 or SMTP: only its own apps can read this mail.",),
    ),
    Provider(
        "T-Online",
        ("t-online.de", "magenta.de"),
        ("t-online.de",),
        (
            Server(IMAP, "secureimap.t-online.de", 993, TLS),
            Server(POP3, "securepop.t-online.de", 995, TLS),
            Server(SMTP, "securesmtp.t-online.de", 465, TLS),
            Server(SMTP, "securesmtp.t-online.de", 587, STARTTLS),
        ),
        notes=(
            "T-Online wants its separate e-mail password (set in the Telekom customer centre), "
            "not your Telekom login password.",
        ),
        needs_app_password=True,
    ),
    Provider(
        "Migadu",
        (),
        ("migadu.com",),
        (
            Server(IMAP, "imap.migadu.com", 993, TLS),
            Server(POP3, "pop.migadu.com", 995, TLS),
            Server(SMTP, "smtp.migadu.com", 465, TLS),
        ),
    ),
    Provider(
        "Disroot",
        ("disroot.org", "getgoogleoff.me"),
        ("disroot.org",),
        (
            Server(IMAP, "disroot.org", 993, TLS),
            Server(POP3, "disroot.org", 995, TLS),
            Server(SMTP, "disroot.org", 465, TLS),
            Server(SMTP, "disroot.org", 587, STARTTLS),
        ),
    ),
    Provider(
        "Riseup",
        ("riseup.net",),
        ("riseup.net",),
        (
            Server(IMAP, "mail.riseup.net", 993, TLS),
            Server(POP3, "mail.riseup.net", 995, TLS),
            Server(SMTP, "mail.riseup.net", 465, TLS),
        ),
    ),
    Provider(
        "QQ Mail",
        ("qq.com", "foxmail.com"),
        ("qq.com",),
        (
            Server(IMAP, "imap.qq.com", 993, TLS),
            Server(POP3, "pop.qq.com", 995, TLS),
            Server(SMTP, "smtp.qq.com", 465, TLS),
        ),
        notes=(
            "Switch on IMAP/SMTP in QQ Mail's settings and log in with the authorisation code "
            "it gives, not your QQ password.",
        ),
        needs_app_password=True,
    ),
    Provider(
        "NetEase Mail (163)",
        ("163.com", "126.com", "yeah.net"),
        ("163.com", "126.com"),
        (
            Server(IMAP, "imap.163.com", 993, TLS),
            Server(POP3, "pop.163.com", 995, TLS),
            Server(SMTP, "smtp.163.com", 465, TLS),
        ),
        notes=(
            "Switch on IMAP/SMTP in the mailbox settings and log in with the authorisation "
            "code it gives, not your account password.",
        ),
        needs_app_password=True,
    ),
)

_BY_DOMAIN = {domain: provider for provider in PROVIDERS for domain in provider.domains}


def by_domain(domain: str) -> Provider | None:
    """The provider of addresses at ``domain`` (lower case), if tuimail knows it."""
    return _BY_DOMAIN.get(domain)


def by_mx(mx_host: str) -> Provider | None:
    """The provider whose mail exchanger ``mx_host`` is (``aspmx.l.google.com`` -> Gmail)."""
    host = mx_host.lower().rstrip(".")
    for provider in PROVIDERS:
        for suffix in provider.mx:
            if host == suffix or host.endswith("." + suffix):
                return provider
    return None
