"""Sign in by a link sent to an email address (SMTP, or the console for local development).

SMTP_URL: `smtp://user:password@host:587` (STARTTLS when the server offers it),
`smtps://user:password@host:465` (TLS from the start), or `console:` (print the mail on stderr;
local development only). EMAIL_FROM: the sender, e.g. `Zentropy <no-reply@example.com>`.
"""

from __future__ import annotations

import logging
import sys
from email.message import EmailMessage
from typing import Annotated, Literal
from urllib.parse import unquote, urlsplit

import aiosmtplib
import msgspec

from zentropy.auth.contract import EmailSignIn, IdentityError, VerifiedIdentity
from zentropy.hookspecs import hookimpl
from zentropy.settings import SettingsError, env, read_settings

log = logging.getLogger(__name__)
NAME = "magic-link"


class MagicLinkSettings(msgspec.Struct, frozen=True, kw_only=True):
    smtp_url: Annotated[
        str, msgspec.Meta(pattern=r"^(smtps?://.+|console:.*)$"),
        env("SMTP_URL", secret=True, doc="smtp://user:pass@host:587, smtps://user:pass@host:465, or console: "
            "(print mails; local development)."),
    ]
    email_from: Annotated[str, env("EMAIL_FROM", doc="Sender of sign-in mails, e.g. Zentropy <no-reply@example.com>.")]
    smtp_timeout: Annotated[float, msgspec.Meta(gt=0), env("SMTP_TIMEOUT", doc="Seconds.")] = 10.0


class SmtpError(Exception):
    """The mail could not be handed to the SMTP server."""


def message(settings: MagicLinkSettings, address: str, link: str, minutes: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.email_from
    mail["To"] = address
    mail["Subject"] = "Your Zentropy sign-in link"
    mail.set_content(
        f"Open this link to sign in to Zentropy:\n\n{link}\n\n"
        f"It works once and expires in {minutes} minutes. If you did not ask for it, ignore this mail.\n"
    )
    return mail


async def deliver(settings: MagicLinkSettings, mail: EmailMessage) -> None:
    url = urlsplit(settings.smtp_url)
    if url.scheme == "console":
        headers = "".join(f"{k}: {mail[k]}\n" for k in ("From", "To", "Subject"))
        print(f"--- mail (console transport) ---\n{headers}\n{mail.get_content()}--- end of mail ---",
              file=sys.stderr, flush=True)
        return
    try:
        await aiosmtplib.send(
            mail,
            hostname=url.hostname or "localhost",
            port=url.port or (465 if url.scheme == "smtps" else 587),
            username=unquote(url.username) if url.username else None,
            password=unquote(url.password) if url.password else None,
            use_tls=url.scheme == "smtps",
            timeout=settings.smtp_timeout,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.error("sign-in mail not sent", extra={"error": type(exc).__name__, "smtp_host": url.hostname})
        raise SmtpError(type(exc).__name__) from None


class MagicLinkProvider:
    kind: Literal["email"] = "email"
    name = NAME
    display_name = "Email"

    def __init__(self, settings: MagicLinkSettings | None) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return self.settings is not None

    async def send_link(self, ctx: EmailSignIn, *, address: str, next_path: str | None) -> None:
        assert self.settings is not None, "magic-link is not configured"
        token = await ctx.tokens.issue(address)
        link = ctx.confirmation_link(address, token, next_path)
        try:
            await deliver(self.settings, message(self.settings, address, link, ctx.expires_minutes))
        except SmtpError:
            raise IdentityError("email_not_sent", "The sign-in mail could not be sent; try again later.", 503) from None

    async def verify(self, ctx: EmailSignIn, *, address: str, token: str) -> VerifiedIdentity:
        if not await ctx.tokens.consume(address, token):
            raise IdentityError("invalid_link", "This sign-in link is invalid, expired or already used. "
                                "Ask for a new one.", 400)
        return VerifiedIdentity(provider=self.name, subject=address, email=address, email_verified=True)


def load() -> MagicLinkProvider:
    try:
        return MagicLinkProvider(read_settings(MagicLinkSettings))
    except SettingsError:
        return MagicLinkProvider(None)


@hookimpl
def register_settings(register):
    register(MagicLinkSettings)


@hookimpl
def register_identity_providers(register):
    register(load())
