"""A planned certificate rotation: `init --next`, `serve` announces it, `init --rotate`."""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from broker_stub import cli, tls
from broker_stub.demo.xdisplay import stop_process

from .test_serve_tls import (  # noqa: F401  (serve is a fixture)
    HOST,
    STOP_TIMEOUT,
    serve,
    served_fingerprint,
    wait_for_health,
)

Serve = Callable[..., tuple[subprocess.Popen[bytes], int]]


def printed_fingerprint(out: str, heading: str) -> str:
    lines = out.splitlines()
    return lines[lines.index(heading) + 1].strip()


def sha256_of_pem(pem: str) -> str:
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest()
    return ":".join(f"{b:02X}" for b in digest)


def test_init_next_makes_the_next_pair_beside_the_current_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tls.create(tmp_path, ["broker.example.com"])
    before = current.cert.read_bytes(), current.key.read_bytes()

    assert (
        cli.main(["init", "--dir", str(tmp_path), "--next", "--hostname", "broker.example.com"])
        == 0
    )

    out = capsys.readouterr().out
    upcoming = printed_fingerprint(out, "SHA-256 fingerprint of the next certificate:")
    assert upcoming == sha256_of_pem((tmp_path / "next-cert.pem").read_text())
    assert upcoming != current.fingerprint
    assert "init --rotate" in out
    assert (current.cert.read_bytes(), current.key.read_bytes()) == before  # still served
    assert (tmp_path / "next-key.pem").stat().st_mode & 0o777 == 0o600

    # A second --next would change what launchers may have learnt: only with --force.
    assert cli.main(["init", "--dir", str(tmp_path), "--next"]) == 2
    err = capsys.readouterr().err
    assert upcoming in err
    assert "--force" in err


def test_init_without_next_or_force_points_at_the_planned_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tls.create(tmp_path, ["broker.example.com"])

    assert cli.main(["init", "--dir", str(tmp_path)]) == 2

    err = capsys.readouterr().err
    assert "--next" in err
    assert "--rotate" in err


def test_rotate_puts_the_next_pair_in_place_and_keeps_the_old_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tls.create(tmp_path, ["broker.example.com"])
    upcoming = tls.create(tmp_path, ["broker.example.com"], upcoming=True)

    assert cli.main(["init", "--dir", str(tmp_path), "--rotate"]) == 0

    out = capsys.readouterr().out
    assert tls.load(tmp_path / "cert.pem", tmp_path / "key.pem").fingerprint == upcoming.fingerprint
    kept = tls.load(tmp_path / "previous-cert.pem", tmp_path / "previous-key.pem")
    assert kept.fingerprint == current.fingerprint
    assert not (tmp_path / "next-cert.pem").exists()
    assert not (tmp_path / "next-key.pem").exists()
    assert upcoming.fingerprint in out
    assert current.fingerprint in out
    assert "Restart `rubicon-broker serve`" in out


def test_rotate_without_a_next_pair_says_how_to_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tls.create(tmp_path, ["broker.example.com"])

    assert cli.main(["init", "--dir", str(tmp_path), "--rotate"]) == 2

    assert "init --next" in capsys.readouterr().err
    assert tls.load(current.cert, current.key).fingerprint == current.fingerprint


def test_published_reads_the_served_and_the_next_certificate(tmp_path: Path) -> None:
    current = tls.create(tmp_path, ["broker.example.com"])
    assert tls.published(current.cert) == tls.Published(current.fingerprint)
    assert tls.published(None) == tls.Published(None)

    upcoming = tls.create(tmp_path, ["broker.example.com"], upcoming=True)
    shown = tls.published(current.cert)
    assert shown.fingerprint == current.fingerprint
    assert shown.next_fingerprint == upcoming.fingerprint
    assert shown.next_pem is not None
    assert sha256_of_pem(shown.next_pem) == upcoming.fingerprint

    (tmp_path / "next-cert.pem").write_text("not a certificate")
    assert tls.published(current.cert) == tls.Published(current.fingerprint)


def test_serve_announces_the_next_certificate_until_it_is_rotated_in(
    tmp_path: Path,
    serve: Serve,  # noqa: F811  (the fixture, imported above)
    capsys: pytest.CaptureFixture[str],
) -> None:
    where = tmp_path / "tls"
    current = tls.create(where, ["broker.test"])
    upcoming = tls.create(where, ["broker.test"], upcoming=True)
    files = ("--tls-cert", str(where / "cert.pem"), "--tls-key", str(where / "key.pem"))
    log_path = tmp_path / "broker.log"

    proc, port = serve(*files)
    pinned = ssl.create_default_context(cafile=current.cert)
    pinned.check_hostname = False
    url = f"https://{HOST}:{port}"
    wait_for_health(proc, url, pinned, log_path)
    reply = httpx.get(f"{url}/api/v1/tls", verify=pinned, timeout=10)

    assert reply.status_code == 200
    body = reply.json()
    assert body["fingerprint"] == current.fingerprint
    assert body["next"]["fingerprint"] == upcoming.fingerprint
    assert sha256_of_pem(body["next"]["pem"]) == upcoming.fingerprint
    assert "announcing the next TLS certificate" in log_path.read_text()
    assert upcoming.fingerprint in log_path.read_text()
    stop_process(proc, STOP_TIMEOUT)

    assert cli.main(["init", "--dir", str(where), "--rotate"]) == 0
    capsys.readouterr()
    proc, port = serve(*files)
    url = f"https://{HOST}:{port}"
    now_pinned = ssl.create_default_context(cafile=where / "cert.pem")
    now_pinned.check_hostname = False
    wait_for_health(proc, url, now_pinned, log_path)

    assert served_fingerprint(port) == upcoming.fingerprint
    after = httpx.get(f"{url}/api/v1/tls", verify=now_pinned, timeout=10).json()
    assert after == {"fingerprint": upcoming.fingerprint, "next": None}
