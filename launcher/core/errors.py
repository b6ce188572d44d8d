"""The launcher's one error tree: every failure it tells the user about.

Each error carries the sentence the user reads (``message``) and what to do
about it (``hint``, may be empty), each normally a
:class:`~launcher.core.texts.Text`, so that the window can translate them
(``launcher.ui.coretext``); ``str()`` is both, in English, for logs and the
command line. Those marked ValueError are ValueErrors too, as before the
tree, so an ``except ValueError`` still takes them: what the user typed or a
link gave, refused before anything is done. Each class, the module it lives
in (its parent's, where none is named), and when it happens::

    RubiconError                    errors.py: the root
    ├── BrokerError                 broker.py: a call to the broker failed
    │   ├── BrokerUnreachable       no answer: down, wrong address, timeout
    │   ├── UntrustedCertificate    TLS: no trusted CA and no pin; ask the user
    │   ├── CertificateChanged      TLS: pinned, and now another certificate
    │   ├── BrokerProtocolError     an answer the client cannot read
    │   ├── DesktopStarting         202: the machine is powering on
    │   └── BrokerRejected          the broker said no (problem+json, ``code``)
    │       ├── InvalidCredentials  wrong username or password
    │       ├── OtpRequired         right password; now the one-time code
    │       ├── InvalidOtp          the code is wrong, too old or used
    │       ├── OtpRequiredForPool  this pool wants a sign-in with a code
    │       ├── TooManyAttempts     429: sign-ins from here refused a while
    │       │   └── AccountLocked   the same, for this account alone
    │       ├── BrokerBusy          503: its directory, database or hypervisor
    │       ├── SessionExpired      the sign-in token is no longer valid
    │       ├── NotEntitled         the user may not use that desktop
    │       ├── ActionNotAllowed    the pool lets no user reset or restart
    │       ├── NoDesktopAvailable  every machine in the pool is taken
    │       └── DesktopFailed       the machine is dead, gone or broken
    ├── AddressRefused              broker.py, ValueError: that is no broker's address
    │   └── PlainHttpRefused        plain HTTP off this computer, not allowed
    ├── LaunchError                 protocols/__init__.py: a desktop did not open
    │   ├── ClientNotFound          the native client is not installed
    │   └── CredentialError         wincred.py: Windows refused mstsc's credential
    ├── CredentialStoreError        credentials.py: the keychain did not save or remove
    ├── LinkError                   uri.py, ValueError: a rubicon:// link refused
    ├── StartError                  startup.py, ValueError: a start request refused
    └── OtpFormatError              signin.py, ValueError: not a 6 to 8 digit code

``broker.py`` says more of when each broker error happens. A client's exit
reason (``protocols.ExitReason``) carries a message and hint the same way,
but is no exception: a client that ends is news, not a failure.

A ``ValueError`` made with an f-string about the launcher's own misuse (a
plan without a program) is not on the tree: it is a bug, and the window
says so ("Something went wrong") instead of passing it off as advice.
"""

from __future__ import annotations

__all__ = ["RubiconError"]


class RubiconError(Exception):
    """A failure the user is told about: ``message`` and ``hint``, each a sentence."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()
