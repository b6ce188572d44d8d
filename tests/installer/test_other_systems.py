"""The Windows installer (installer/windows/rubicon.iss) and the macOS bundle
settings (in installer/rubicon.spec) cannot be built on this machine; what they
say is held here against what the launcher expects, so that neither drifts.
docs/install.md says what has not been run."""

from __future__ import annotations

import re
from pathlib import Path

from launcher.core import uri
from launcher.core.settings import APP_NAME, system_config_path

ROOT = Path(__file__).resolve().parents[2]
ISS = (ROOT / "installer" / "windows" / "rubicon.iss").read_text(encoding="utf-8")
SPEC = (ROOT / "installer" / "rubicon.spec").read_text(encoding="utf-8")


def test_the_spec_is_python_that_compiles() -> None:
    compile(SPEC, "rubicon.spec", "exec")


def test_windows_links_open_the_gui_program_with_the_link() -> None:
    key = rf"Software\Classes\{uri.SCHEME}"
    registry = [line for line in ISS.splitlines() if line.startswith("Root: HKLM")]

    protocol = f'Subkey: "{key}"; ValueType: string; ValueName: "URL Protocol"'
    assert any(protocol in line for line in registry)
    (command,) = [r for r in registry if rf'"{key}\shell\open\command"' in r]
    assert 'ValueData: """{app}\\rubicon.exe"" ""%1"""' in command


def test_the_installer_puts_the_admin_file_where_the_launcher_reads_it() -> None:
    read_from = system_config_path("win32", {"PROGRAMDATA": "C:/ProgramData"})
    folder = read_from.parent.name

    assert rf'DestDir: "{{commonappdata}}\{folder}"' in ISS
    assert rf'Name: "{{commonappdata}}\{folder}"; Permissions: users-readexec' in ISS
    # An example beside it, never the admin's own file, which an upgrade must keep.
    assert f'DestName: "{read_from.name}.example"' in ISS


def test_an_uninstall_removes_user_data_only_when_asked() -> None:
    purge = re.search(r"DelTree\(ExpandConstant\('\{localappdata\}\\(\w+)'\)", ISS)

    assert purge is not None
    assert purge.group(1) == APP_NAME  # where platformdirs keeps a user's files
    assert "if UninstallSilent() then\n    Purge := PurgeAsked()" in ISS
    assert "MB_DEFBUTTON2" in ISS  # asked, "No" is the default


def test_the_installer_is_per_machine_and_keeps_its_upgrade_identity() -> None:
    assert "PrivilegesRequired=admin" in ISS
    assert "DefaultDirName={autopf}\\Rubicon" in ISS
    assert re.search(r"^AppId=\{\{[0-9A-F-]{36}\}$", ISS, re.M)


def test_macos_hands_rubicon_links_to_the_bundle() -> None:
    assert f'"CFBundleURLSchemes": ["{uri.SCHEME}"]' in SPEC
