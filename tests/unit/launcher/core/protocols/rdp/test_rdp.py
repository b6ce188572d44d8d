"""What every RDP client shares: options, certificate policy, gateway, no secret in argv."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.protocols.rdp import (
    CertificatePolicy,
    CertMode,
    Gateway,
    RdpOptions,
    freerdp,
    macos,
    mstsc,
)
from tests.unit.launcher.core.protocols.rdp.cases import (
    FP,
    FP_COLONS,
    SAME_GATEWAY,
    V2,
    V3,
    XF2,
    XF3,
    conn,
    credentials,
    rdp_text,
)

# --- secrets --------------------------------------------------------------------

# A marker keeps a short password from being, by chance, part of an ordinary
# argument such as "/cert:".
passwords = (
    st.text(
        alphabet=st.characters(min_codepoint=32, exclude_categories=("Cs", "Cc")),
        max_size=30,
    )
    .filter(lambda p: "{" not in p)
    .map(lambda p: f"\u00a7pw\u00a7{p}")
)


@given(password=passwords)
def test_passwords_never_in_argv_repr_or_rdp_file(password: str) -> None:
    options = RdpOptions(sso_password=password, gateway=SAME_GATEWAY.gateway)
    plans = [
        freerdp.plan(conn(), client=XF2, version=V2, options=options),
        freerdp.plan(conn(), client=XF3, version=V3, options=options),
        mstsc.plan(conn(), options=options),
        macos.plan(conn(), app_path="/Applications/Windows App.app", options=options),
    ]
    for plan in plans:
        assert all(password not in arg for arg in plan.argv)
        assert password not in repr(plan)
        for temp in plan.temp_files:
            assert password not in rdp_text(temp.contents)
    assert password not in repr(options)
    assert plans[0].stdin == f"{password}\n".encode()
    assert f"/p:{password}\n".encode() in plans[1].pass_fds[0]
    assert credentials(plans[2].pre_steps) == (("TERMSRV/10.0.0.8", "ann", password),)


@pytest.mark.parametrize("bad", ["pw\nnext", "pw\r", "a\0b"])
def test_a_password_with_a_line_break_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="password"):
        RdpOptions(sso_password=bad)
    with pytest.raises(ValueError, match="password"):
        freerdp.plan(conn(password=bad), client=XF3, version=V3, options=RdpOptions())


@given(st.text(max_size=40))
def test_odd_host_names_are_refused_or_stay_one_argument(host: str) -> None:
    try:
        plan = freerdp.plan(conn(host=host), client=XF3, version=V3, options=RdpOptions())
    except ValueError:
        return
    lines = plan.pass_fds[0].decode().splitlines()
    assert lines[0] in (f"/v:{host}:3389", f"/v:[{host}]:3389")
    assert all(not line.startswith("/v:") for line in lines[1:])


@given(st.text(max_size=40))
def test_user_names_and_titles_cannot_add_arguments(text: str) -> None:
    try:
        plan = freerdp.plan(
            conn(username=text), client=XF3, version=V3, options=RdpOptions(title=text)
        )
    except ValueError:
        return
    lines = plan.pass_fds[0].decode().split("\n")
    assert lines[-1] == ""  # ends with a newline, and no empty line before it
    assert all(lines[:-1])
    assert sum(line.startswith("/p:") for line in lines) == 0


# --- options --------------------------------------------------------------------


def test_certificate_policy_rules() -> None:
    with pytest.raises(ValueError, match="only an administrator"):
        CertificatePolicy(CertMode.IGNORE)
    with pytest.raises(ValueError, match="needs the certificate"):
        CertificatePolicy(CertMode.FINGERPRINT)
    with pytest.raises(ValueError, match="not a SHA-256"):
        CertificatePolicy(CertMode.FINGERPRINT, "abc")
    with pytest.raises(ValueError, match="takes no fingerprint"):
        CertificatePolicy(CertMode.TOFU, FP)
    assert CertificatePolicy(CertMode.FINGERPRINT, FP).fingerprint == FP_COLONS
    assert CertificatePolicy(CertMode.FINGERPRINT, FP_COLONS.upper()).fingerprint == FP_COLONS
    assert RdpOptions().certificate == CertificatePolicy(CertMode.TOFU)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 800}, "both width and height"),
        ({"width": 10, "height": 10}, "out of range"),
        ({"drives": (("a,b", "/x"),)}, "drive name"),
        ({"drives": (("a", "/x;y"),)}, "drive path"),
        ({"drives": (("", "/x"),)}, "drive name"),
        ({"audio_system": "pulse,dev:1"}, "audio system"),
        ({"title": "two\nlines"}, "title"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RdpOptions(**kwargs)  # type: ignore[arg-type]


def test_gateway_rules() -> None:
    with pytest.raises(ValueError, match="needs a user name"):
        Gateway("gw.example.com", use_sign_in=False)
    with pytest.raises(ValueError, match="not a host name"):
        Gateway("gw example")
    with pytest.raises(ValueError, match="port"):
        Gateway("gw.example.com", port=0)
    assert "gp-secret" not in repr(
        Gateway("gw", username="u", use_sign_in=False, password="gp-secret")
    )
