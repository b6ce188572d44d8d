"""The broker's TLS key and self-signed certificate, and the next one.

Launchers do not check the certificate against a CA: they pin its SHA-256
fingerprint, which `rubicon-broker init` prints and `serve` logs.

A planned rotation: `init --next` makes the next key and certificate beside
the current ones (`next-key.pem`, `next-cert.pem`; beside a certificate of
your own, `next-` before its file name). `serve` announces the next
certificate to launchers (`GET /api/v1/tls`, :func:`published`); a launcher
that pinned the current one and signs in meanwhile accepts the next one
too, so that `init --rotate` (the next pair becomes the current one, the
current one `previous-*.pem`) and a restart lock nobody out.

    TlsError        a file is missing, unreadable, or does not fit its partner;
                    the message says which and what to do
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import os
import re
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker_stub.clock import utcnow
from broker_stub.settings import TLS_CERT_FILE, TLS_KEY_FILE

VALIDITY = timedelta(days=730)
# Starts a little in the past, so a client whose clock is slow accepts it.
BACKDATE = timedelta(minutes=5)
ALWAYS = ("localhost", "127.0.0.1", "::1")
NEXT = "next-"  # before the file names of the next key and certificate
PREVIOUS = "previous-"  # ... and of the ones `init --rotate` replaced
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.IGNORECASE)


class TlsError(Exception):
    """Something wrong with the TLS files; the message is for the admin."""


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path
    fingerprint: str
    names: list[str]
    not_after: datetime


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as colon-separated upper-case hex (AB:CD:...)."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def subject_names(hostnames: list[str]) -> list[str]:
    """The names to put in the certificate: `hostnames`, then the loopback ones, once each.

    Raises TlsError for a name that is neither a DNS name nor an IP address.
    """
    return list(dict.fromkeys(normalize_name(n) for n in [*hostnames, *ALWAYS]))


def normalize_name(given: str) -> str:
    """An IP address or a lower-case ASCII DNS name; TlsError if it is neither."""
    name = given.strip().rstrip(".").strip("[]")
    if _is_ip(name):
        return name
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        name = ""
    if not _is_dns_name(name):
        raise TlsError(
            f"{given!r} is not a host name or IP address; give the names "
            "launchers use to reach the broker, like broker.example.com"
        )
    return name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _is_dns_name(name: str) -> bool:
    labels = name.split(".")
    if labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def next_path(path: Path) -> Path:
    """Where the next certificate (or key) of `path` is kept: beside it, `next-` first."""
    return path.with_name(NEXT + path.name)


def create(
    directory: Path, hostnames: list[str], *, force: bool = False, upcoming: bool = False
) -> Certificate:
    """Make an ECDSA P-256 key (0600) and a self-signed certificate for `hostnames`.

    `upcoming`: the next pair (`next-key.pem`, `next-cert.pem`), which `serve`
    announces and `rotate` puts in place. Refuses (TlsError) to replace
    existing files unless `force`: launchers that pinned the old certificate
    would stop trusting the broker.
    """
    names = subject_names(hostnames)
    prefix = NEXT if upcoming else ""
    cert_path = directory / (prefix + TLS_CERT_FILE)
    key_path = directory / (prefix + TLS_KEY_FILE)
    if not force and (cert_path.exists() or key_path.exists()):
        current = ""
        with contextlib.suppress(TlsError):  # a broken file: say no more than that it exists
            current = f" (fingerprint {fingerprint(_read_certificate(cert_path))})"
        if upcoming:
            raise TlsError(
                f"the broker already has a next TLS certificate in {directory}{current}. "
                "Launchers may have taken it from the announcement; to replace it anyway, "
                "add --force"
            )
        raise TlsError(
            f"the broker already has a TLS certificate in {directory}{current}. "
            "Launchers that pinned it would refuse a new one: make the next one with "
            "--next, let launchers learn it, then --rotate (see docs/admin.md). To "
            "replace it at once anyway, add --force"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _self_signed(key, names)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return Certificate(
        cert=cert_path,
        key=key_path,
        fingerprint=fingerprint(cert),
        names=names,
        not_after=cert.not_valid_after_utc,
    )


def _self_signed(key: ec.EllipticCurvePrivateKey, names: list[str]) -> x509.Certificate:
    # Python's default client context checks strictly (X509_STRICT in 3.13):
    # a critical basicConstraints and both key identifiers keep it happy.
    common_name = names[0] if len(names[0]) <= 64 else "Rubicon broker"
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Rubicon broker"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    alt_names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address(n)) if _is_ip(n) else x509.DNSName(n) for n in names
    ]
    now = utcnow()
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Replace `path` in one step, so a crash leaves the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # made 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read_certificate(path: Path) -> x509.Certificate:
    """The first certificate in a PEM file (the server's own, in a chain)."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except OSError as exc:
        raise TlsError(f"cannot read the TLS certificate {path}: {exc.strerror}") from None
    except ValueError:
        raise TlsError(
            f"{path} is not a PEM certificate; point --tls-cert at the "
            "file that starts with -----BEGIN CERTIFICATE-----"
        ) from None


def load(cert_path: Path, key_path: Path) -> Certificate:
    """Check that the certificate and key can be served together; describe them."""
    for what, path in (("certificate", cert_path), ("private key", key_path)):
        if not path.is_file():
            raise TlsError(
                f"there is no TLS {what} at {path}. Run `rubicon-broker init` to make a "
                "key and a self-signed certificate, or pass --tls-cert and --tls-key"
            )
    cert = _read_certificate(cert_path)
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path)
    except OSError as exc:  # ssl.SSLError is an OSError too
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        raise TlsError(
            f"cannot use the TLS key {key_path} with the certificate {cert_path} "
            f"({reason}); check that both files belong together and that you may read them"
        ) from None
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n.value) for n in san]
    except x509.ExtensionNotFound:
        names = []
    return Certificate(
        cert=cert_path,
        key=key_path,
        fingerprint=fingerprint(cert),
        names=names,
        not_after=cert.not_valid_after_utc,
    )


def rotate(directory: Path) -> tuple[Certificate, Certificate | None]:
    """Put the next key and certificate in place; (the new current, the one it replaced).

    The replaced pair is kept as `previous-key.pem` and `previous-cert.pem`.
    TlsError if there is no next pair, or it does not fit together.
    """
    cert_path, key_path = directory / TLS_CERT_FILE, directory / TLS_KEY_FILE
    upcoming_cert, upcoming_key = next_path(cert_path), next_path(key_path)
    if not upcoming_cert.exists() and not upcoming_key.exists():
        raise TlsError(
            f"there is no next TLS certificate in {directory}. Make one with "
            "`rubicon-broker init --next`, and let `serve` announce it to launchers "
            "for a while before you rotate"
        )
    upcoming = load(upcoming_cert, upcoming_key)
    replaced = None
    if cert_path.exists() and key_path.exists():
        with contextlib.suppress(TlsError):
            replaced = load(cert_path, key_path)
        os.replace(key_path, directory / (PREVIOUS + TLS_KEY_FILE))
        os.replace(cert_path, directory / (PREVIOUS + TLS_CERT_FILE))
    os.replace(upcoming_key, key_path)
    os.replace(upcoming_cert, cert_path)
    return dataclasses.replace(upcoming, cert=cert_path, key=key_path), replaced


@dataclass(frozen=True)
class Published:
    """What `serve` tells launchers about its certificates (`GET /api/v1/tls`)."""

    fingerprint: str | None  # of the certificate served; None: plain HTTP or unreadable
    next_fingerprint: str | None = None
    next_pem: str | None = None
    next_not_after: datetime | None = None


def published(cert_path: Path | None) -> Published:
    """The served certificate's fingerprint and the next one, if `next-` of it exists.

    Never raises: a file that cannot be read is not announced (and logged by `serve`).
    """
    if cert_path is None:
        return Published(None)
    current = None
    with contextlib.suppress(TlsError):
        current = fingerprint(_read_certificate(cert_path))
    upcoming_path = next_path(cert_path)
    if not upcoming_path.exists():
        return Published(current)
    try:
        upcoming = _read_certificate(upcoming_path)
    except TlsError:
        return Published(current)
    pem = upcoming.public_bytes(serialization.Encoding.PEM).decode("ascii")
    return Published(current, fingerprint(upcoming), pem, upcoming.not_valid_after_utc)
