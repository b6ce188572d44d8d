"""`rubicon-broker init`: the broker's TLS key and self-signed certificate, the
next one (--next) and the switch to it (--rotate)."""

from __future__ import annotations

import argparse
import contextlib
import socket
from pathlib import Path

from broker_stub.cli.common import RAW, CliError, Subparsers, wrap
from broker_stub.settings import TLS_CERT_FILE, TLS_KEY_FILE, config_dir


def add_init(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "init",
        help="make the broker's TLS key and self-signed certificate",
        description=wrap(
            "Make a private key and a self-signed certificate for the broker's "
            "HTTPS, and print the certificate's SHA-256 fingerprint: launchers pin "
            "it. The certificate names the given host names plus localhost, "
            "127.0.0.1 and ::1, and is valid for two years."
        ),
        epilog="example:\n"
        "  rubicon-broker init --hostname broker.example.com --hostname 192.0.2.10\n"
        "  rubicon-broker init --next --hostname broker.example.com   # weeks before\n"
        "  rubicon-broker init --rotate                               # then restart serve",
        formatter_class=RAW,
    )
    parser.add_argument(
        "--dir",
        metavar="DIR",
        type=Path,
        help=f"where to write {TLS_CERT_FILE} and {TLS_KEY_FILE} (default: {config_dir()})",
    )
    parser.add_argument(
        "--hostname",
        metavar="NAME",
        action="append",
        default=[],
        help="a name or address launchers use to reach the broker; repeat for several "
        "(default: this machine's host name)",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--next",
        action="store_true",
        help="make the NEXT key and certificate (next-key.pem, next-cert.pem): `serve` "
        "announces it, and launchers that sign in meanwhile accept it after --rotate",
    )
    when.add_argument(
        "--rotate",
        action="store_true",
        help="put the next key and certificate in place (the current ones are kept as "
        "previous-*.pem); then restart `serve` on every node",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace an existing key and certificate"
    )
    parser.add_argument(
        "--if-missing",
        action="store_true",
        help="make them only if neither is there yet, else do nothing: for a service "
        "manager to run before every start (the Debian package's unit does)",
    )
    parser.set_defaults(func=_init)


def _init(args: argparse.Namespace) -> int:
    from broker_stub import tls

    directory: Path = args.dir or config_dir()
    if args.rotate:
        return _rotate(directory, hostnames=args.hostname)
    if args.if_missing:
        if args.force or args.next:
            raise CliError("--if-missing makes a first key and certificate; it goes with "
                           "neither --force nor --next")  # fmt: skip
        if (directory / TLS_CERT_FILE).exists() and (directory / TLS_KEY_FILE).exists():
            print(f"A TLS key and certificate are in {directory} already; nothing to make.")
            return 0
    hostnames: list[str] = args.hostname or _this_host()
    try:
        cert = tls.create(directory, hostnames, force=args.force, upcoming=args.next)
    except tls.TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write to {directory}: {exc.strerror or exc}") from None
    if args.next:
        print(
            f"Made the NEXT TLS key and self-signed certificate for {', '.join(cert.names)}, "
            f"valid until {cert.not_after.date()}.\n"
            f"  certificate:  {cert.cert}\n"
            f"  private key:  {cert.key} (readable by you only)\n"
            f"SHA-256 fingerprint of the next certificate:\n"
            f"  {cert.fingerprint}\n"
            "Restart `rubicon-broker serve` (every node, with a copy of both files): it keeps\n"
            "serving the current certificate and announces this one. Launchers that pinned\n"
            "the current one and sign in meanwhile accept this one too. Later, run\n"
            "`rubicon-broker init --rotate` and restart `serve` again."
        )
        return 0
    serve_hint = "`rubicon-broker serve` uses them by default."
    if args.dir is not None and directory.resolve() != config_dir().resolve():
        serve_hint = f"Serve with: rubicon-broker serve --tls-cert {cert.cert} --tls-key {cert.key}"
    print(
        f"Made a TLS key and a self-signed certificate for {', '.join(cert.names)}, "
        f"valid until {cert.not_after.date()}.\n"
        f"  certificate:  {cert.cert}\n"
        f"  private key:  {cert.key} (readable by you only)\n"
        f"SHA-256 fingerprint, for launchers to pin:\n"
        f"  {cert.fingerprint}\n"
        f"{serve_hint}"
    )
    return 0


def _rotate(directory: Path, *, hostnames: list[str]) -> int:
    from broker_stub import tls

    if hostnames:
        raise CliError(
            "--rotate takes the names of the next certificate; give --hostname with --next"
        )
    try:
        cert, replaced = tls.rotate(directory)
    except tls.TlsError as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot rotate the files in {directory}: {exc.strerror or exc}") from None
    before = (
        f"\n  replaced:     {replaced.fingerprint} (kept as {tls.PREVIOUS}*.pem)"
        if replaced
        else ""
    )
    print(
        f"The next TLS certificate is now the current one, valid until {cert.not_after.date()}.\n"
        f"  certificate:  {cert.cert}\n"
        f"  private key:  {cert.key}\n"
        f"  fingerprint:  {cert.fingerprint}{before}\n"
        "Restart `rubicon-broker serve` on every node. Launchers that learnt the next\n"
        "certificate take it without a question; others show both fingerprints and ask."
    )
    return 0


def _this_host() -> list[str]:
    """This machine's names that can go in a certificate (an odd one is left out)."""
    from broker_stub import tls

    names: list[str] = []
    for name in (socket.getfqdn(), socket.gethostname()):
        with contextlib.suppress(tls.TlsError):
            names.append(tls.normalize_name(name))
    return [n for n in dict.fromkeys(names) if n not in tls.ALWAYS]
