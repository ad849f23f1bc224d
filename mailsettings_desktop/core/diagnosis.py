"""What each kind of failure means and what the admin should do: a table, not branches.

Four tables live here. `REPLY_RULES` turns a server reply (stage, reply code, enhanced
status code, words in the text, provider, sign-in method) into a `Category`; the first
matching rule wins. `OAUTH_RULES` does the same for an identity provider's error answer
(the OAuth `error` value and Microsoft's AADSTS codes in its description), and
`LOCAL_ERROR_RULES` for an error raised on this computer that an admin pastes (a refused
connection, a certificate, a name lookup). `EXPLANATIONS` gives each category a headline,
advice and the form field at fault, with per-provider advice where a provider has its own
remedy. The account check, the OAuth sign-in and the "Explain a server error" window all
read them.
"""

from __future__ import annotations

import contextlib
import errno
import re
from dataclasses import dataclass

from mailsettings_desktop.core.check_result import Category, Stage

ENHANCED_CODE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
REPLY_LINE = re.compile(r"(?<![\d.])(?<!port )(?<!port: )([2-5]\d\d)(?:[ -]|$)")
# A reply code followed by an enhanced code of the same class ("550 5.7.1", "535-5.7.8",
# or Python's "(535, b'5.7.8"): the surest sign of a reply in pasted text.
REPLY_WITH_ENHANCED = re.compile(
    r"(?<![\d.])([2-5])(\d\d)[ ,\-]+(?:b?['\"])?\1\.\d{1,3}\.\d{1,3}\b"
)


@dataclass(frozen=True)
class ReplyRule:
    """One row of the reply table. Empty fields match anything."""

    category: Category
    stages: frozenset[Stage] = frozenset()
    codes: frozenset[int] = frozenset()
    enhanced: frozenset[str] = frozenset()
    text: re.Pattern[str] | None = None
    providers: frozenset[str] = frozenset()
    # Sign-in methods ("password", "oauth2") the rule is for; an unknown method (pasted
    # text) matches only rules without this restriction.
    methods: frozenset[str] = frozenset()
    # The rule's evidence means something only at its stages (a bare 550 is a wrong
    # password when signing in but a refused recipient when sending), so it must not fire
    # when the stage is unknown.
    needs_stage: bool = False

    def matches(
        self, stage: Stage | None, code: int | None, enhanced: str | None, text: str,
        provider: str, method: str | None = None,
    ) -> bool:
        if self.methods and method not in self.methods:
            return False
        if stage is None and self.needs_stage:
            return False
        if self.stages and stage is not None and stage not in self.stages:
            return False
        if self.codes and code not in self.codes:
            return False
        if self.enhanced and enhanced not in self.enhanced:
            return False
        if self.text is not None and not self.text.search(text):
            return False
        return not (self.providers and provider not in self.providers)


def _rule(category: Category, *, stages: tuple[Stage, ...] = (), codes: tuple[int, ...] = (),
          enhanced: tuple[str, ...] = (), text: str | None = None,
          providers: tuple[str, ...] = (), methods: tuple[str, ...] = (),
          needs_stage: bool | None = None) -> ReplyRule:
    """A reply rule. One that names stages but neither words nor an enhanced code goes by
    the bare reply code, which says nothing without the stage, so it needs the stage
    unless told otherwise; an enhanced code too generic to stand alone passes
    `needs_stage=True`."""
    if needs_stage is None:
        needs_stage = bool(stages) and text is None and not enhanced
    return ReplyRule(
        category,
        frozenset(stages),
        frozenset(codes),
        frozenset(enhanced),
        re.compile(text, re.IGNORECASE) if text else None,
        frozenset(providers),
        frozenset(methods),
        needs_stage,
    )


AUTH = (Stage.AUTHENTICATING,)
MAIL = (Stage.CHECKING_SENDER,)
GREET = (Stage.GREETING,)
SEND = (Stage.SENDING,)
# The permanent refusals a server gives to a sign-in it does not accept.
REFUSED_SIGN_IN = (535, 534, 530, 550, 553, 554)

# The first matching rule wins. Rules that recognise a reply by its words or its enhanced
# code come before rules that go by the bare reply code. A reply pasted without its stage
# (stage None) is matched against every stage's words and telling enhanced codes, but never
# against a bare code or a generic enhanced code (`needs_stage`): without the stage, "550"
# alone could be a wrong password, a refused sender or a refused recipient.
REPLY_RULES: tuple[ReplyRule, ...] = (
    # Encryption demanded by the server, at any stage.
    _rule(Category.ENCRYPTION_REQUIRED, codes=(530, 538),
          text=r"starttls|tls|ssl|encrypt"),
    _rule(Category.ENCRYPTION_REQUIRED, enhanced=("5.7.11",)),
    _rule(Category.ENCRYPTION_REQUIRED, text=r"without (ssl|tls)|must issue a starttls"),
    # Sign-in, recognised by words or enhanced code.
    _rule(Category.APP_PASSWORD_REQUIRED, stages=AUTH, enhanced=("5.7.9",)),
    _rule(Category.APP_PASSWORD_REQUIRED, stages=AUTH,
          text=r"application[- ]specific password|app(lication)? password|"
               r"password for (external )?app|parol\w* prilozheni"),
    # Yandex says this when the normal password is used where only app passwords work.
    _rule(Category.APP_PASSWORD_REQUIRED, stages=AUTH, providers=("yandex",),
          text=r"access rights to this service"),
    _rule(Category.AUTH_DISABLED, stages=AUTH, enhanced=("5.7.139",)),
    _rule(Category.AUTH_DISABLED, stages=AUTH,
          text=r"smtp ?auth\w* is disabled|basic authentication is disabled|"
               r"authentication disabled|not enabled for (smtp|imap)"),
    # A refused OAuth token: XOAUTH2/OAUTHBEARER servers answer with a 334 carrying an error
    # JSON ({"status":"401","schemes":"bearer",...}), then 535 (Microsoft: 5.7.3, Google:
    # 5.7.8). Placed after AUTH_DISABLED: Microsoft wants SMTP AUTH enabled for OAuth too.
    _rule(Category.OAUTH_TOKEN_REFUSED, stages=AUTH, methods=("oauth2",),
          codes=(535, 534, 530, 550, 554)),
    _rule(Category.OAUTH_TOKEN_REFUSED, stages=AUTH,
          text=r'"schemes"\s*:\s*"bearer|xoauth2|oauthbearer|invalid_token'),
    _rule(Category.WRONG_CREDENTIALS_OR_AUTH_DISABLED, stages=AUTH, enhanced=("5.7.3",),
          text=r"authentication unsuccessful"),
    # 5.5.4 is any "invalid command arguments", so alone it means a mechanism only at AUTH.
    _rule(Category.NO_COMMON_MECHANISM, stages=AUTH, enhanced=("5.5.4", "5.7.4"),
          needs_stage=True),
    _rule(Category.NO_COMMON_MECHANISM, stages=AUTH,
          text=r"(unrecognized|unrecognised|unsupported|unknown) authentication "
               r"(type|mechanism|method)|no suitable authentication"),
    # 5.7.8 is RFC 4954's "authentication credentials invalid"; the words are the usual ones.
    _rule(Category.WRONG_CREDENTIALS, stages=AUTH, codes=REFUSED_SIGN_IN, enhanced=("5.7.8",)),
    _rule(Category.WRONG_CREDENTIALS, stages=AUTH, codes=REFUSED_SIGN_IN,
          text=r"username and password not accepted|(invalid|bad|wrong|incorrect) "
               r"(user ?name|login|credentials|password)|authentication (credentials )?"
               r"(failed|invalid)|invalid credentials"),
    # Sending limits, relaying and the sender, recognised by words or enhanced code.
    _rule(Category.QUOTA_EXCEEDED, enhanced=("5.4.5", "4.4.5")),
    _rule(Category.QUOTA_EXCEEDED, text=r"sending limit|quota|too many messages"),
    _rule(Category.RELAY_DENIED, text=r"relay(ing)? (access )?(denied|not permitted)"),
    _rule(Category.CONNECTION_BLOCKED, stages=GREET, codes=(554, 550, 521),
          text=r"block|listed|blacklist|spamhaus|reputation"),
    # "Denied" could be anything; it is this network only when said in the greeting.
    _rule(Category.CONNECTION_BLOCKED, stages=GREET, codes=(554, 550, 521),
          text=r"not allowed|denied", needs_stage=True),
    # The message itself refused by a content filter: only the test message has content.
    _rule(Category.CONTENT_REJECTED, stages=SEND,
          text=r"\bspam\b|virus|malware|phishing|message content|"
               r"content (was )?(rejected|refused|filter|policy)|prohibited content"),
    # A refused recipient, said outright. Before the sender's words, which include
    # "authorized"; Postfix's "Sender address rejected: User unknown in local recipient
    # table" has no "recipient address", so it stays the sender's.
    _rule(Category.RECIPIENT_REJECTED, stages=SEND,
          text=r"recipient address rejected|(recipient|rcpt) (rejected|refused|unknown|"
               r"not found)|(no such|unknown|invalid) recipient"),
    _rule(Category.SENDER_REJECTED, stages=MAIL,
          text=r"sender|not owned|send ?as|from address|mail from|authorized"),
    # 5.7.60: Microsoft's "send as" denied; 5.1.7/5.1.8: a bad sender address or domain.
    _rule(Category.SENDER_REJECTED, stages=MAIL, enhanced=("5.7.60", "5.1.7", "5.1.8")),
    # 5.7.1 is any "not authorised" refusal: the sender only when it came at MAIL FROM.
    _rule(Category.SENDER_REJECTED, stages=MAIL, enhanced=("5.7.1",), needs_stage=True),
    # A recipient that does not exist (RFC 3463 5.1.x addressing codes, 5.2.1 disabled).
    _rule(Category.RECIPIENT_REJECTED, stages=SEND,
          enhanced=("5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1")),
    _rule(Category.RECIPIENT_REJECTED, stages=SEND,
          text=r"user unknown|unknown user|no such (user|mailbox)|mailbox (not found|"
               r"does not exist|unavailable)|address does not exist"),
    # Bare reply codes, read with the stage they came at (never without one).
    _rule(Category.SERVICE_UNAVAILABLE, codes=(421,)),
    _rule(Category.NO_COMMON_MECHANISM, stages=AUTH, codes=(504,)),
    _rule(Category.TEMPORARY_FAILURE, stages=AUTH, codes=(432, 450, 451, 452, 454)),
    _rule(Category.WRONG_CREDENTIALS, stages=AUTH, codes=REFUSED_SIGN_IN),
    _rule(Category.CONNECTION_BLOCKED, stages=GREET, codes=(554, 521)),
    _rule(Category.TEMPORARY_FAILURE, stages=MAIL, codes=(450, 451, 452)),
    _rule(Category.SENDER_REJECTED, stages=MAIL, codes=(550, 553, 554, 555)),
    _rule(Category.RECIPIENT_REJECTED, stages=SEND, codes=(550, 551, 553)),
    _rule(Category.TEMPORARY_FAILURE, codes=(450, 451, 452, 454)),
)


@dataclass(frozen=True)
class LocalErrorRule:
    """One row of the local error table: words of an error raised on this computer."""

    category: Category
    text: re.Pattern[str]
    # Where the same words mean different things at different stages (a time-out), the
    # stages this row is for; empty matches any stage, including an unknown one.
    stages: frozenset[Stage] = frozenset()

    def matches(self, stage: Stage | None, text: str) -> bool:
        if self.stages and stage not in self.stages:
            return False
        return self.text.search(text) is not None


def _local(category: Category, text: str, stages: tuple[Stage, ...] = ()) -> LocalErrorRule:
    return LocalErrorRule(category, re.compile(text, re.IGNORECASE), frozenset(stages))


CONVERSATION = (Stage.AUTHENTICATING, Stage.CHECKING_SENDER, Stage.SENDING)

# Errors that Python, OpenSSL or the operating system raise on this computer, as a log or an
# error box shows them: no reply code, because the server never answered (or never
# answered in SMTP). They map to the categories the account check gives the same failure,
# so a pasted error reads like the check's own result. The first matching row wins.
LOCAL_ERROR_RULES: tuple[LocalErrorRule, ...] = (
    # Certificates, most specific first: each is also "certificate verify failed".
    _local(Category.CERT_HOSTNAME_MISMATCH,
           r"hostname mismatch|ip address mismatch|hostname \S+ (doesn't|does not) match"),
    _local(Category.CERT_EXPIRED, r"certificate has expired"),
    _local(Category.CERT_NOT_YET_VALID, r"certificate is not yet valid"),
    _local(Category.CERT_UNTRUSTED,
           r"self[- ]signed certificate|unable to get local issuer|certificate verify failed|"
           r"unable to verify the first certificate"),
    # The server answered the TLS hello in plain text: SSL/TLS chosen on a STARTTLS port.
    _local(Category.TLS_ON_PLAIN_PORT,
           r"wrong[_ ]version[_ ]number|unknown[_ ]protocol|http[_ ]request|"
           r"packet[_ ]length[_ ]too[_ ]long|record[_ ]layer[_ ]failure"),
    # The name lookup (Linux, macOS, Windows wordings).
    _local(Category.DNS_FAILURE,
           r"name or service not known|getaddrinfo failed|nodename nor servname|"
           r"temporary failure in name resolution|no address associated with hostname|"
           r"\[errno -[235]\]|\[errno 1100[14]\]|name resolution"),
    # smtplib reports a read that timed out as a closed connection: it was a time-out.
    _local(Category.REPLY_TIMEOUT, r"unexpectedly closed: timed out"),
    _local(Category.CONNECTION_REFUSED,
           r"connection ?refused|actively refused|errno 111\]|winerror 10061"),
    _local(Category.NO_ROUTE,
           r"network is unreachable|no route to host|host is down|network is down"),
    # A time-out in the TLS handshake is the check's "never said hello"; at the greeting,
    # an admin's "when connecting" usually means the connection attempt itself.
    _local(Category.HANDSHAKE_TIMEOUT, r"timed? ?out", (Stage.SECURING,)),
    _local(Category.REPLY_TIMEOUT, r"timed? ?out", CONVERSATION),
    _local(Category.CONNECT_TIMEOUT, r"timed? ?out|winerror 10060"),
    _local(Category.STARTTLS_NOT_OFFERED, r"starttls extension not supported"),
    _local(Category.AUTH_NOT_OFFERED, r"smtp auth extension not supported"),
    _local(Category.NO_COMMON_MECHANISM, r"no suitable authentication method"),
    _local(Category.CONNECTION_CLOSED,
           r"unexpectedly closed|serverdisconnected|connection reset|connection aborted|"
           r"eof occurred in violation|unexpected[_ ]eof|remote end closed|"
           r"forcibly closed|broken pipe|not connected"),
    _local(Category.TLS_FAILED,
           r"\[ssl|sslerror|handshake failure|tlsv1[_ ]alert|unsupported protocol|"
           r"no protocols available"),
)

# What the first digit of a reply code says, for a reply the tables do not know.
REPLY_CLASSES: dict[str, str] = {
    "2": "the server accepted the command",
    "3": "the server is waiting for more input",
    "4": "a temporary refusal: the same attempt may work later",
    "5": "a permanent refusal: the same attempt will fail again",
}


@dataclass(frozen=True)
class OAuthRule:
    """One row of the OAuth error table. Empty fields match anything."""

    category: Category
    errors: frozenset[str] = frozenset()  # the OAuth `error` value
    aadsts: frozenset[str] = frozenset()  # Microsoft's AADSTS number in the description
    text: re.Pattern[str] | None = None
    providers: frozenset[str] = frozenset()  # "microsoft", "google"

    def matches(self, error: str, codes: frozenset[str], description: str,
                provider: str) -> bool:
        if self.errors and error not in self.errors:
            return False
        if self.aadsts and not self.aadsts & codes:
            return False
        if self.text is not None and not self.text.search(description):
            return False
        return not (self.providers and provider not in self.providers)


def _oauth(category: Category, *, errors: tuple[str, ...] = (), aadsts: tuple[str, ...] = (),
           text: str | None = None, providers: tuple[str, ...] = ()) -> OAuthRule:
    return OAuthRule(
        category, frozenset(errors), frozenset(aadsts),
        re.compile(text, re.IGNORECASE) if text else None, frozenset(providers),
    )


AADSTS_CODE = re.compile(r"\bAADSTS(\d{5,7})\b")

# The first matching rule wins. Microsoft's AADSTS codes say more than the `error` value
# (AADSTS700016, an unknown client, comes as "unauthorized_client"), so they come first.
# Sources: learn.microsoft.com/entra/identity-platform/reference-error-codes, RFC 6749
# section 5.2, and Google's documented token endpoint errors.
OAUTH_RULES: tuple[OAuthRule, ...] = (
    _oauth(Category.OAUTH_CONSENT_REQUIRED, aadsts=("65001", "65004", "90094", "90095")),
    _oauth(Category.OAUTH_WRONG_TENANT,
           aadsts=("90002", "50020", "50128", "50059", "900023", "90072", "50034")),
    _oauth(Category.OAUTH_CLIENT_REJECTED,
           aadsts=("700016", "7000215", "7000222", "7000112", "700027", "50011",
                   "7000218", "700054", "70002", "700024", "500011", "1002012")),
    _oauth(Category.OAUTH_SIGN_IN_AGAIN,
           aadsts=("70008", "700082", "50173", "70000", "54005", "50076", "50079",
                   "50078", "700084", "70043", "50132", "50133")),
    # Google domain-wide delegation: the subject is not a user of the Workspace domain.
    _oauth(Category.OAUTH_WRONG_TENANT, errors=("invalid_grant",),
           text=r"invalid email or user id|not a valid email"),
    # Google: the service account key was deleted or does not match.
    _oauth(Category.OAUTH_CLIENT_REJECTED, errors=("invalid_grant",),
           text=r"invalid jwt|jwt signature|account not found"),
    # Google: the client is not authorised for this scope in the Admin console
    # (domain-wide delegation not granted).
    _oauth(Category.OAUTH_CONSENT_REQUIRED, errors=("unauthorized_client",),
           providers=("google",)),
    _oauth(Category.OAUTH_CONSENT_REQUIRED, errors=("consent_required", "access_denied")),
    _oauth(Category.OAUTH_SIGN_IN_AGAIN,
           errors=("invalid_grant", "interaction_required", "login_required")),
    _oauth(Category.OAUTH_CLIENT_REJECTED,
           errors=("invalid_client", "unauthorized_client", "invalid_scope",
                   "unsupported_grant_type", "unsupported_response_type")),
    _oauth(Category.OAUTH_UNAVAILABLE, errors=("temporarily_unavailable", "server_error")),
)

# What a failed connection attempt's error number means. Windows has its own numbers.
CONNECT_ERRORS: dict[int, Category] = {
    number: category
    for names, category in (
        (("ECONNREFUSED", "WSAECONNREFUSED"), Category.CONNECTION_REFUSED),
        (("ENETUNREACH", "EHOSTUNREACH", "EHOSTDOWN", "ENETDOWN", "EADDRNOTAVAIL",
          "WSAENETUNREACH", "WSAEHOSTUNREACH", "WSAEHOSTDOWN", "WSAENETDOWN"),
         Category.NO_ROUTE),
        (("ETIMEDOUT", "WSAETIMEDOUT"), Category.CONNECT_TIMEOUT),
        (("ECONNRESET", "ECONNABORTED", "WSAECONNRESET", "WSAECONNABORTED"),
         Category.CONNECTION_CLOSED),
    )
    for name in names
    if (number := getattr(errno, name, None)) is not None
}

# Shown beside the form, before any test, when the sign-in name is not the sender address.
USERNAME_DIFFERS_WARNING = (
    "The username is not the email address. Unless this account may send as the address "
    "(a shared mailbox, an alias or a 'send as' right), the server will refuse it as sender."
)


@dataclass(frozen=True)
class Explanation:
    headline: str
    advice: str
    field: str | None = None


EXPLANATIONS: dict[Category, Explanation] = {
    Category.OK: Explanation(
        "The account works: the server accepted the sign-in and this sender address.",
        "You can save the address.",
    ),
    Category.MESSAGE_SENT: Explanation(
        "The server accepted the test message.",
        "Check that it arrived in the recipient's inbox (and not in spam). The server's "
        "reply is in Details.",
    ),
    Category.CANCELLED: Explanation("The test was cancelled.", "Run Test account again."),
    Category.DNS_FAILURE: Explanation(
        "The server name could not be found.",
        "Check the spelling of the server name, and that this computer can reach the "
        "internet or the company network.",
        "host",
    ),
    Category.CONNECTION_REFUSED: Explanation(
        "The server refused the connection on this port.",
        "Check the port number (usually 465 for SSL/TLS or 587 for STARTTLS) and the "
        "server name. A firewall may also block outgoing mail ports.",
        "port",
    ),
    Category.NO_ROUTE: Explanation(
        "This computer has no network route to the server.",
        "Check the network connection, VPN and firewall of this computer.",
        "host",
    ),
    Category.CONNECT_TIMEOUT: Explanation(
        "The server did not answer the connection attempt in time.",
        "Check the server name and port. A firewall often silently drops outgoing mail "
        "ports; ask the network administrator, or raise the timeout for a slow network.",
        "port",
    ),
    Category.GREETING_TIMEOUT: Explanation(
        "The server accepted the connection but never said hello.",
        "The server may be overloaded, or the port may expect encryption from the first "
        "byte (SSL/TLS). Check the security setting and port, or try again later.",
        "security",
    ),
    Category.HANDSHAKE_TIMEOUT: Explanation(
        "The server accepted the connection but did not answer the encryption (TLS) "
        "handshake.",
        "The server may be overloaded, or something on the network holds the connection. "
        "Check the port with your provider (465 is the usual SSL/TLS port), or try again "
        "later.",
        "port",
    ),
    Category.REPLY_TIMEOUT: Explanation(
        "The server stopped answering in the middle of the conversation.",
        "Try again later, or raise the timeout for a slow connection.",
        "host",
    ),
    Category.TLS_ON_PLAIN_PORT: Explanation(
        "SSL/TLS was chosen, but this port expects an unencrypted start (STARTTLS or none).",
        "Choose STARTTLS on port 587, or keep SSL/TLS and use port 465.",
        "security",
    ),
    Category.PLAIN_ON_TLS_PORT: Explanation(
        "This port expects encryption from the first byte (SSL/TLS), but another security "
        "setting was chosen.",
        "Choose SSL/TLS for this port, or use STARTTLS on port 587.",
        "security",
    ),
    Category.STARTTLS_NOT_OFFERED: Explanation(
        "STARTTLS was chosen, but the server does not offer it on this port.",
        "Choose SSL/TLS on port 465, or ask the mail administrator which port supports "
        "encryption. Do not send passwords unencrypted.",
        "security",
    ),
    Category.ENCRYPTION_REQUIRED: Explanation(
        "The server requires an encrypted connection.",
        "Choose STARTTLS on port 587 or SSL/TLS on port 465.",
        "security",
    ),
    Category.TLS_FAILED: Explanation(
        "The encrypted connection could not be set up.",
        "The server may use old or unusual encryption settings. Check the port and "
        "security setting; see Details for the exact error.",
        "security",
    ),
    Category.CERT_UNTRUSTED: Explanation(
        "The server's certificate is not trusted: it is self-signed or issued by a "
        "private authority.",
        "If this is your company's own server, compare the fingerprint with the one your "
        "mail administrator gives you and trust this certificate. Otherwise, do not proceed.",
        "host",
    ),
    Category.CERT_HOSTNAME_MISMATCH: Explanation(
        "The server's certificate was issued for a different name than the server name "
        "entered.",
        "Use the server name the certificate was issued for (see Details), usually the one "
        "your provider documents.",
        "host",
    ),
    Category.CERT_EXPIRED: Explanation(
        "The server's certificate has expired.",
        "The mail provider must renew its certificate. Also check this computer's date "
        "and time.",
        "host",
    ),
    Category.CERT_NOT_YET_VALID: Explanation(
        "The server's certificate is not valid yet.",
        "Check this computer's date and time; otherwise the provider must fix its "
        "certificate.",
        "host",
    ),
    Category.CERT_CHANGED: Explanation(
        "The server's certificate has changed since you trusted it.",
        "This can mean the server was reconfigured or that someone is intercepting the "
        "connection. Confirm the new fingerprint with your mail administrator before "
        "trusting it.",
        "host",
    ),
    Category.AUTH_NOT_OFFERED: Explanation(
        "The server does not offer sign-in (AUTH) on this connection.",
        "Many servers offer sign-in only after encryption: choose STARTTLS or SSL/TLS. "
        "Otherwise use the provider's submission port (587 or 465).",
        "security",
    ),
    Category.NO_COMMON_MECHANISM: Explanation(
        "The server offers no sign-in method this program supports.",
        "This program signs in with PLAIN, LOGIN or CRAM-MD5. Ask the mail administrator "
        "to enable one of them for this port.",
        "host",
    ),
    Category.WRONG_CREDENTIALS: Explanation(
        "The server rejected the username or password.",
        "Re-type the password (watch Caps Lock and the keyboard layout) and check the "
        "username; many providers want the full email address as username.",
        "password",
    ),
    Category.WRONG_CREDENTIALS_OR_AUTH_DISABLED: Explanation(
        "The server rejected the sign-in: the password is wrong, or password sign-in "
        "(SMTP AUTH) is switched off for this mailbox.",
        "Check the password. If it is right, the mailbox administrator must enable "
        "authenticated SMTP for this mailbox.",
        "password",
    ),
    Category.APP_PASSWORD_REQUIRED: Explanation(
        "The provider requires an app password instead of the normal password.",
        "Create an app password in the account's security settings and enter it here.",
        "password",
    ),
    Category.AUTH_DISABLED: Explanation(
        "Password sign-in over SMTP is switched off for this account or organisation.",
        "The mailbox administrator must enable SMTP AUTH for this mailbox, or the account "
        "must use modern sign-in (OAuth).",
        "password",
    ),
    Category.TEMPORARY_FAILURE: Explanation(
        "The server refused for now (too many attempts or a temporary problem).",
        "Wait several minutes before testing again. Repeated attempts can lock the "
        "account for longer.",
        None,
    ),
    Category.SENDER_REJECTED: Explanation(
        "The server does not let this account send as this address.",
        "Use the address that belongs to the signed-in account, or ask the mail "
        "administrator to grant 'send as' rights for this address.",
        "email",
    ),
    Category.RELAY_DENIED: Explanation(
        "The server refuses to relay mail for this account.",
        "Sign-in probably did not take effect: check the username and that the port is "
        "the provider's submission port (587 or 465), not 25.",
        "username",
    ),
    Category.QUOTA_EXCEEDED: Explanation(
        "The account has reached its sending limit.",
        "Wait until the provider's limit resets (often 24 hours) or raise the limit.",
        None,
    ),
    Category.RECIPIENT_REJECTED: Explanation(
        "The server refused the recipient of the test message.",
        "Check the recipient address.",
        None,
    ),
    Category.CONTENT_REJECTED: Explanation(
        "The server refused the message itself: its filter took it for spam or harmful "
        "content.",
        "The account and address work; the message's content was refused. Send a plainer "
        "message (no links or attachments), and ask the provider why its filter refused it "
        "if real mail is refused too.",
        None,
    ),
    Category.SERVICE_UNAVAILABLE: Explanation(
        "The server says it is not available right now (421).",
        "Try again later. If it persists, the provider may be limiting this network.",
        None,
    ),
    Category.CONNECTION_BLOCKED: Explanation(
        "The server refuses connections from this network.",
        "This computer's public address may be on a block list, or the provider does "
        "not accept mail programs from this network. Contact the provider.",
        None,
    ),
    Category.CONNECTION_CLOSED: Explanation(
        "The server closed the connection unexpectedly.",
        "Check the port and security setting; the server may also be limiting "
        "connections. Try again later.",
        "security",
    ),
    Category.NOT_SMTP: Explanation(
        "The program at this address and port is not a mail (SMTP) server.",
        "Check the server name and port.",
        "port",
    ),
    Category.UNEXPECTED: Explanation(
        "The server gave an unexpected reply.",
        "See Details for the server's exact words; your mail administrator or provider "
        "can tell what it means.",
        None,
    ),
    Category.OAUTH_NOT_OFFERED: Explanation(
        "The server does not offer OAuth sign-in (XOAUTH2 or OAUTHBEARER) on this "
        "connection.",
        "Check the server name and port against the provider's documentation, or choose "
        "password sign-in if the provider still allows it.",
        "auth_method",
    ),
    Category.OAUTH_TOKEN_REFUSED: Explanation(
        "The mail server refused the sign-in token.",
        "Sign in again. If it keeps failing, the account or app lacks the right to send "
        "mail over SMTP (the SMTP permission, or SMTP AUTH switched off for the mailbox).",
        "oauth",
    ),
    Category.OAUTH_CONSENT_REQUIRED: Explanation(
        "Permission to send mail was not granted to the company's sign-in app.",
        "An administrator of the organisation must grant consent to the app for sending "
        "mail (SMTP), or the person signing in must accept the permission request.",
        "company_app",
    ),
    Category.OAUTH_WRONG_TENANT: Explanation(
        "The account does not belong to the organisation (tenant or domain) of this "
        "sign-in app.",
        "Check the tenant ID or domain in Company sign-in apps, and that the address "
        "belongs to that organisation. Sign in with the account of this address.",
        "company_app",
    ),
    Category.OAUTH_CLIENT_REJECTED: Explanation(
        "The identity provider refused the company's sign-in app (unknown, disabled, or "
        "a wrong or expired secret).",
        "Compare the client ID, tenant and secret or certificate in Company sign-in apps "
        "with the app registration and its settings (redirect URI, public client flows, "
        "permissions); create a new secret if the old one expired.",
        "company_app",
    ),
    Category.OAUTH_SIGN_IN_AGAIN: Explanation(
        "The sign-in for this address has expired or was revoked.",
        "Click Sign in and sign in with this address again. Nothing else needs to change.",
        "oauth",
    ),
    Category.OAUTH_NOT_SET_UP: Explanation(
        "No sign-in app is set up for this address.",
        "Add the company's app registration in Settings > Company sign-in apps, or "
        "choose password sign-in.",
        "company_app",
    ),
    Category.OAUTH_SIGN_IN_TIMEOUT: Explanation(
        "The sign-in in the browser did not finish in time.",
        "Click Sign in again and complete the sign-in in the browser window that opens.",
        "oauth",
    ),
    Category.OAUTH_UNAVAILABLE: Explanation(
        "The sign-in service could not be reached.",
        "Check this computer's internet connection, proxy and firewall, then try again.",
        None,
    ),
    Category.OAUTH_PROVIDER_ERROR: Explanation(
        "The sign-in service gave an unexpected answer.",
        "See Details for the exact answer; the administrator of the app registration can "
        "tell what it means.",
        "company_app",
    ),
}

# Provider-specific advice: (category, provider key) -> advice.
PROVIDER_ADVICE: dict[tuple[Category, str], str] = {
    (Category.APP_PASSWORD_REQUIRED, "gmail"):
        "Gmail needs an app password when 2-Step Verification is on: Google account > "
        "Security > App passwords. Enter that 16-letter password here.",
    (Category.APP_PASSWORD_REQUIRED, "yahoo"):
        "Yahoo needs an app password: Yahoo Account security > Generate app password.",
    (Category.APP_PASSWORD_REQUIRED, "icloud"):
        "iCloud needs an app-specific password: appleid.apple.com > Sign-In and Security "
        "> App-Specific Passwords.",
    (Category.APP_PASSWORD_REQUIRED, "mailru"):
        "Mail.ru needs a password for external applications: Settings > Security > "
        "Passwords for external applications.",
    (Category.APP_PASSWORD_REQUIRED, "yandex"):
        "Yandex needs an app password: Yandex ID > Security > App passwords (type: Mail). "
        "Also allow mail programs in Yandex Mail settings.",
    (Category.APP_PASSWORD_REQUIRED, "zoho"):
        "Zoho needs an application-specific password when two-factor authentication is "
        "on: Zoho Accounts > Security > App Passwords.",
    (Category.APP_PASSWORD_REQUIRED, "outlook"):
        "Outlook.com needs an app password when two-step verification is on: "
        "account.microsoft.com > Security > Advanced security options.",
    (Category.WRONG_CREDENTIALS, "gmail"):
        "Check the password. If the account uses 2-Step Verification, Gmail accepts only "
        "an app password (Google account > Security > App passwords).",
    (Category.WRONG_CREDENTIALS, "yandex"):
        "Check the password. Yandex accepts only an app password for mail programs "
        "(Yandex ID > Security > App passwords).",
    (Category.WRONG_CREDENTIALS, "icloud"):
        "Check the password. iCloud accepts only an app-specific password for mail "
        "programs (appleid.apple.com > Sign-In and Security > App-Specific Passwords).",
    (Category.WRONG_CREDENTIALS, "yahoo"):
        "Check the password. Yahoo accepts only an app password for mail programs "
        "(Yahoo Account security > Generate app password).",
    (Category.WRONG_CREDENTIALS, "mailru"):
        "Check the password. Mail.ru accepts only a password for external applications "
        "(Settings > Security).",
    (Category.AUTH_DISABLED, "microsoft365"):
        "The Microsoft 365 administrator must enable Authenticated SMTP for this mailbox "
        "(Microsoft 365 admin center > Users > Mail > Manage email apps), or the tenant "
        "must allow SMTP AUTH; otherwise the account must use OAuth.",
    (Category.WRONG_CREDENTIALS_OR_AUTH_DISABLED, "microsoft365"):
        "Check the password. If it is right, the Microsoft 365 administrator must enable "
        "Authenticated SMTP for this mailbox (admin center > Users > Mail > Manage email "
        "apps), or security defaults may block it.",
    (Category.WRONG_CREDENTIALS_OR_AUTH_DISABLED, "outlook"):
        "Check the password. Outlook.com is retiring password sign-in for mail programs; "
        "if the password is right, the account needs an app password or OAuth.",
    (Category.OAUTH_CONSENT_REQUIRED, "microsoft365"):
        "A Microsoft Entra administrator must grant admin consent to the app (Entra admin "
        "center > App registrations > API permissions > Grant admin consent). App-only "
        "access also needs the SMTP.SendAsApp permission and an Exchange service "
        "principal with rights on the mailbox.",
    (Category.OAUTH_CONSENT_REQUIRED, "gmail"):
        "A Google Workspace super admin must authorise the service account's client ID "
        "for https://mail.google.com/ (Admin console > Security > API controls > "
        "Domain-wide delegation), or the person signing in must allow access to Gmail.",
    (Category.OAUTH_TOKEN_REFUSED, "microsoft365"):
        "Sign in again. If it keeps failing, Authenticated SMTP must be enabled for this "
        "mailbox, and an app-only token needs the SMTP.SendAsApp permission and "
        "Add-MailboxPermission for the app's service principal.",
    (Category.OAUTH_TOKEN_REFUSED, "gmail"):
        "Sign in again. The token must carry the https://mail.google.com/ scope and be "
        "issued for this very address.",
}


# The Explain window has no test that just ran and no Details button, so where the check's
# words assume either, the window shows these instead (the check keeps its own).
PASTED_EXPLANATIONS: dict[Category, Explanation] = {
    Category.UNEXPECTED: Explanation(
        "This reply is not one the program knows.",
        "Ask the mail administrator or the provider what the server's words mean; the "
        "reply code (below) says whether trying again later can help.",
    ),
    Category.RECIPIENT_REJECTED: Explanation(
        "The server refused the recipient: that address does not exist or takes no mail.",
        "Check the spelling of the recipient address. The account and the sender address "
        "are not at fault.",
    ),
    Category.MESSAGE_SENT: Explanation(
        "The server accepted the message.",
        "Check that it arrived in the recipient's inbox (and not in spam).",
    ),
    Category.TLS_FAILED: Explanation(
        EXPLANATIONS[Category.TLS_FAILED].headline,
        "The server may use old or unusual encryption settings. Check the port and "
        "security setting, then run Test account for the address.",
        "security",
    ),
    Category.CERT_UNTRUSTED: Explanation(
        EXPLANATIONS[Category.CERT_UNTRUSTED].headline,
        "If this is your company's own server, run Test account for the address: it shows "
        "the certificate's fingerprint to compare with the one your mail administrator "
        "gives you before you trust it. Otherwise, do not proceed.",
        "host",
    ),
    Category.CERT_HOSTNAME_MISMATCH: Explanation(
        EXPLANATIONS[Category.CERT_HOSTNAME_MISMATCH].headline,
        "Use the server name the certificate was issued for, usually the one your provider "
        "documents. Test account for the address shows the names in the certificate.",
        "host",
    ),
    Category.OAUTH_PROVIDER_ERROR: Explanation(
        EXPLANATIONS[Category.OAUTH_PROVIDER_ERROR].headline,
        "The administrator of the company's app registration can tell what the answer "
        "means.",
        "company_app",
    ),
}

# Pasted text with neither a reply code nor a recognised error message.
UNKNOWN_ERROR = Explanation(
    "This error message is not one the program knows.",
    "Paste the server's reply itself if you have it (a line starting with a three-digit "
    "code such as 535 or 550), or ask the mail administrator what the message means.",
)
# Said under a bare reply code pasted without its stage: choosing one may explain it.
UNKNOWN_STAGE_HINT = (
    "If you know when it happened, choose it under \"It happened\": the same code means "
    "different things when signing in and when sending."
)


def explanation_for(category: Category, provider: str = "custom") -> Explanation:
    base = EXPLANATIONS[category]
    advice = PROVIDER_ADVICE.get((category, provider))
    return Explanation(base.headline, advice, base.field) if advice else base


def pasted_explanation(category: Category, provider: str = "custom") -> Explanation:
    """The explanation as the Explain window words it: provider advice first, then the
    window's own wording where the check's points at its Details button."""
    if (category, provider) in PROVIDER_ADVICE:
        return explanation_for(category, provider)
    return PASTED_EXPLANATIONS.get(category) or EXPLANATIONS[category]


def category_for_reply(
    stage: Stage | None, code: int | None, text: str, provider: str = "custom",
    method: str | None = None,
) -> Category:
    """Classify a server reply. `stage` None means unknown (pasted text), and so does
    `method` None (the sign-in method, "password" or "oauth2")."""
    enhanced = enhanced_code_in(text)
    for rule in REPLY_RULES:
        if rule.matches(stage, code, enhanced, text, provider, method):
            return rule.category
    return Category.UNEXPECTED


def category_for_oauth_error(error: str, description: str = "", provider: str = "") -> Category:
    """Classify an identity provider's error answer (`error`, `error_description`).

    `provider` is the identity provider ("microsoft", "google"), not the mail preset.
    """
    codes = frozenset(AADSTS_CODE.findall(description))
    for rule in OAUTH_RULES:
        if rule.matches(error, codes, description, provider):
            return rule.category
    return Category.OAUTH_PROVIDER_ERROR


def enhanced_code_in(text: str) -> str | None:
    match = ENHANCED_CODE.search(text)
    return ".".join(match.groups()) if match else None


@dataclass(frozen=True)
class PastedReply:
    """A reply code and text found in text the admin pasted."""

    code: int | None
    enhanced: str | None
    text: str


def parse_pasted_reply(text: str) -> PastedReply:
    """Find the SMTP reply in a pasted bounce or log line."""
    cleaned = " ".join(text.split())
    paired = REPLY_WITH_ENHANCED.search(cleaned)
    if paired:
        code: int | None = int(paired.group(1) + paired.group(2))
    else:
        match = REPLY_LINE.search(cleaned)
        code = int(match.group(1)) if match else None
    return PastedReply(code, enhanced_code_in(cleaned), cleaned)


def category_for_local_error(stage: Stage | None, text: str) -> Category:
    """Classify an error raised on this computer (Python, OpenSSL, the operating system)
    from its words; `stage` None means unknown."""
    for rule in LOCAL_ERROR_RULES:
        if rule.matches(stage, text):
            return rule.category
    return Category.UNEXPECTED


@dataclass(frozen=True)
class PastedDiagnosis:
    """What the Explain window found in pasted text, and what kind of failure it is."""

    reply: PastedReply
    category: Category
    # The text is an error raised on this computer, not a reply from the server.
    local: bool = False

    def found(self) -> str:
        """What was found, in the admin's words: the reply code and what its class means,
        or that the text is this computer's own error message."""
        reply = self.reply
        if self.local:
            return ("Found no server reply: this is an error message from this computer's "
                    "side of the connection.")
        if reply.code is not None:
            meaning = REPLY_CLASSES[str(reply.code)[0]]
            found = f"the server's reply code {reply.code} ({meaning})"
            if reply.enhanced:
                found += f" and the detailed status code {reply.enhanced}"
            return f"Found {found}."
        return "Found no server reply code in the text."

    def explanation(self, provider: str = "custom") -> Explanation:
        """The explanation as the Explain window shows it (see `PASTED_EXPLANATIONS`)."""
        if self.category is Category.UNEXPECTED and self.reply.code is None:
            return UNKNOWN_ERROR
        return pasted_explanation(self.category, provider)


def diagnose_pasted(
    text: str, stage: Stage | None = None, provider: str = "custom"
) -> PastedDiagnosis:
    """Explain text the admin pasted: a server reply, a bounce, or a local error message.

    A reply code makes it a server reply; the local error table is asked only when there is
    none or the reply tables do not know the reply (a log line can carry a number that
    looks like a code). Without a code, the local table goes first, because its words
    ("timed out", "refused") are more exact than the reply table's.
    """
    reply = parse_pasted_reply(text)
    if reply.code is None:
        local = category_for_local_error(stage, reply.text)
        if local is not Category.UNEXPECTED:
            return PastedDiagnosis(reply, local, local=True)
    category = category_for_reply(stage, reply.code, reply.text, provider)
    if category is Category.UNEXPECTED and reply.code is not None:
        local = category_for_local_error(stage, reply.text)
        if local is not Category.UNEXPECTED:
            return PastedDiagnosis(reply, local, local=True)
    return PastedDiagnosis(reply, category)


def category_for_connect_error(status: int) -> Category:
    """Classify the error number of a failed connection attempt."""
    return CONNECT_ERRORS.get(status, Category.UNEXPECTED)


def username_differs_from_address(email: str, username: str) -> bool:
    """Whether the sign-in name is not the sender address, which the form warns about.

    A server then accepts the sender only if the account has a right to send as it, which
    is the usual cause of a refused sender. A username without an @ that equals the part
    before the @ is the same mailbox on many hosting servers, so it does not count.
    """
    address = _normal_address(email)
    user = _normal_address(username)
    if not address or not user:
        return False
    if "@" not in user:
        return user != address.rpartition("@")[0]
    return user != address


def _normal_address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at:
        return value.strip().casefold()
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local.casefold()}@{domain.casefold()}"
