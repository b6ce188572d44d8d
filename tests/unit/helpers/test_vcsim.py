"""The vcsim helper: built once per source, stopped by PID, skipped or failed without Go."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from tests.helpers import vcsim
from tests.helpers.e2e import pid_alive
from tests.helpers.vcsim import APT, require_vcsim, start_vcsim


def test_without_go_the_tests_skip_with_the_apt_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vcsim.shutil, "which", lambda _name: None)
    monkeypatch.delenv("RUBICON_REQUIRE_E2E", raising=False)
    with pytest.raises(pytest.skip.Exception, match=APT):
        require_vcsim()


def test_without_go_ci_fails_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vcsim.shutil, "which", lambda _name: None)
    monkeypatch.setenv("RUBICON_REQUIRE_E2E", "1")
    with pytest.raises(pytest.fail.Exception, match=f"RUBICON_REQUIRE_E2E=1 but .*{APT}"):
        require_vcsim()


def test_the_build_is_cached_by_source_and_vcsim_serves_our_certificate(tmp_path: Path) -> None:
    built = require_vcsim()
    assert built.parent.name.startswith("vcsim-")
    assert require_vcsim() == built  # the second time from the cache
    sim = start_vcsim(tmp_path / "sim")
    try:
        served = ssl.get_server_certificate(("127.0.0.1", sim.port))
        assert served.strip() == sim.certificate.cert_file.read_text().strip()
        # The password is in its environment, never on its command line.
        argv = Path(f"/proc/{sim.process.pid}/cmdline").read_bytes()
        assert vcsim.PASSWORD.encode() not in argv
        pid = sim.process.pid
    finally:
        sim.stop()
    assert not pid_alive(pid)
