"""rubicon-broker init: the TLS key, the self-signed certificate and its fingerprint."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from broker_stub import cli, tls
from broker_stub.clock import utcnow
from broker_stub.settings import config_dir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sha256_of(cert_path: Path) -> str:
    """The fingerprint as any TLS client would compute it, without our code."""
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def san(cert_path: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [str(n.value) for n in names]


def test_init_makes_key_and_certificate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = tmp_path / "tls"

    status = cli.main(
        ["init", "--dir", str(where), "--hostname", "broker.example.com",
         "--hostname", "192.0.2.10"]
    )  # fmt: skip

    assert status == 0
    cert, key = where / "cert.pem", where / "key.pem"
    assert mode(key) == 0o600
    assert mode(cert) == 0o644
    assert mode(where) == 0o700
    out = capsys.readouterr().out
    lines = out.splitlines()
    fingerprint = lines[lines.index("SHA-256 fingerprint, for launchers to pin:") + 1].strip()
    assert fingerprint == sha256_of(cert)
    assert f"certificate:  {cert}" in out
    assert f"private key:  {key}" in out
    # Not the default place: tell the admin how to serve these files.
    assert f"--tls-cert {cert} --tls-key {key}" in out
    assert san(cert) == ["broker.example.com", "192.0.2.10", "localhost", "127.0.0.1", "::1"]


def test_certificate_contents(tmp_path: Path) -> None:
    made = tls.create(tmp_path, ["broker.example.com"])

    cert = x509.load_pem_x509_certificate(made.cert.read_bytes())
    key = serialization.load_pem_private_key(made.key.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.name == "secp256r1"
    assert cert.public_key() == key.public_key()
    assert cert.issuer == cert.subject
    lifetime = cert.not_valid_after_utc - utcnow()
    assert timedelta(days=729) < lifetime <= timedelta(days=730)
    assert cert.not_valid_before_utc < utcnow()
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("::1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert made.fingerprint == sha256_of(made.cert)


def test_init_defaults_to_the_config_dir_and_this_host(capsys: pytest.CaptureFixture[str]) -> None:
    # The suite's conftest points XDG_CONFIG_HOME into a temp dir.
    assert cli.main(["init"]) == 0

    cert = config_dir() / "cert.pem"
    assert mode(config_dir() / "key.pem") == 0o600
    assert san(cert)[-3:] == ["localhost", "127.0.0.1", "::1"]
    assert capsys.readouterr().out.splitlines()[-1] == (
        "`rubicon-broker serve` uses them by default."
    )


def test_init_names_this_host_and_skips_odd_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda: "Desk-7.Example.COM")
    monkeypatch.setattr(socket, "gethostname", lambda: "desk_7")  # "_" is not allowed

    assert cli.main(["init", "--dir", str(tmp_path)]) == 0

    assert san(tmp_path / "cert.pem") == ["desk-7.example.com", "localhost", "127.0.0.1", "::1"]


def test_init_does_not_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = tls.create(tmp_path, ["a.example.com"])
    before = first.cert.read_bytes(), first.key.read_bytes()

    assert cli.main(["init", "--dir", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert "--force" in err
    assert first.fingerprint in err
    assert (first.cert.read_bytes(), first.key.read_bytes()) == before

    assert cli.main(["init", "--dir", str(tmp_path), "--hostname", "b.example.com", "--force"]) == 0
    assert sha256_of(first.cert) != first.fingerprint
    assert san(first.cert)[0] == "b.example.com"
    assert mode(first.key) == 0o600


def test_init_if_missing_makes_them_once_and_then_leaves_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "tls"

    assert cli.main(["init", "--dir", str(where), "--if-missing", "--hostname", "a.test"]) == 0
    made = sha256_of(where / "cert.pem")
    assert "SHA-256 fingerprint, for launchers to pin:" in capsys.readouterr().out

    assert cli.main(["init", "--dir", str(where), "--if-missing", "--hostname", "b.test"]) == 0
    assert sha256_of(where / "cert.pem") == made
    assert "already; nothing to make" in capsys.readouterr().out
    # Half a pair is not "there": refused as without the flag, nothing replaced.
    (where / "cert.pem").unlink()
    assert cli.main(["init", "--dir", str(where), "--if-missing"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (where / "key.pem").exists()


def test_init_if_missing_goes_with_neither_force_nor_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for other in ("--force", "--next"):
        assert cli.main(["init", "--dir", str(tmp_path), "--if-missing", other]) == 2
        assert "--if-missing makes a first key" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_when_only_the_key_is_left(tmp_path: Path) -> None:
    made = tls.create(tmp_path, ["a.example.com"])
    made.cert.unlink()

    with pytest.raises(tls.TlsError, match="--force"):
        tls.create(tmp_path, ["a.example.com"])


@pytest.mark.parametrize("name", ["bad name", "-x.example.com", "a..b", "x" * 64 + ".com", ""])
def test_init_refuses_bad_host_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert cli.main(["init", "--dir", str(tmp_path / "tls"), f"--hostname={name}"]) == 2

    err = capsys.readouterr().err
    assert "is not a host name or IP address" in err
    assert not (tmp_path / "tls").exists()


def test_host_names_are_normalised() -> None:
    assert tls.subject_names(
        ["Broker.Example.COM.", "[2001:db8::1]", "bücher.example", "*.x.io"]
    ) == [
        "broker.example.com",
        "2001:db8::1",
        "xn--bcher-kva.example",
        "*.x.io",
        "localhost",
        "127.0.0.1",
        "::1",
    ]


def test_load_describes_a_good_pair(tmp_path: Path) -> None:
    made = tls.create(tmp_path, ["broker.example.com"])

    loaded = tls.load(made.cert, made.key)

    assert loaded.fingerprint == made.fingerprint
    assert loaded.names == made.names
    assert loaded.not_after == made.not_after


def test_load_refuses_what_is_not_a_certificate(tmp_path: Path) -> None:
    made = tls.create(tmp_path, ["broker.example.com"])

    with pytest.raises(tls.TlsError, match="not a PEM certificate"):
        tls.load(made.key, made.key)
    with pytest.raises(tls.TlsError, match="no TLS private key"):
        tls.load(made.cert, tmp_path / "missing.pem")
