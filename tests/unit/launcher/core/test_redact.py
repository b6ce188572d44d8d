"""redact(): what looks like a secret goes, what helps debugging stays."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from launcher.core.redact import MARK, redact

# Secrets start with a marker no template contains, so "not in" is exact.
TOKEN68 = string.ascii_letters + string.digits + "-._~+/"
PLAIN = "".join(c for c in string.printable if not c.isspace() and c not in "\"'")


def secret(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=1, max_size=40).map(lambda s: "Zq9" + s)


@given(secret(TOKEN68))
def test_bearer_tokens(token: str) -> None:
    for line in (f"Authorization: Bearer {token}", f"authorization: bearer {token} next"):
        assert token not in redact(line)


@given(secret(PLAIN))
def test_key_value_forms(value: str) -> None:
    for line in (
        f"password={value}",
        f"login user=ann password={value} from 10.0.0.1",
        f"PASSWORD: {value}",
        f"sso_password = {value}",
        f"[virt-viewer]\ntype=vnc\npassword={value}\n",
        f"token={value}&user=ann",
        f"xfreerdp /v:h:3389 /p:{value} /u:ann",
        f"xfreerdp /gp:{value}",
    ):
        assert value not in redact(line), line


@given(secret(PLAIN.replace("@", "").replace("/", "")))
def test_passwords_in_urls(value: str) -> None:
    out = redact(f"GET https://ann:{value}@broker.example.com/x")
    assert value not in out
    assert out.endswith("@broker.example.com/x")


@given(st.text(min_size=1, max_size=40))
def test_json_and_repr_values_whatever_they_hold(value: str) -> None:
    document = json.dumps({"user": "ann", "password": "Zq9" + value, "other": 1})
    assert json.dumps("Zq9" + value)[1:-1] not in redact(document)
    assert json.loads(redact(document)) == {"user": "ann", "password": MARK, "other": 1}


@given(st.text(alphabet=PLAIN + " ", min_size=1, max_size=30))
def test_freerdp_password_quoted_with_spaces(value: str) -> None:
    line = f'xfreerdp "/p:Zq9{value.replace(chr(34), "")}" /u:ann'
    assert f'"/p:{MARK}" /u:ann' in redact(line)


@given(st.text(max_size=200))
def test_redacting_twice_changes_nothing_more(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize(
    "kept",
    [
        "EC:63:A5:30:89:E7:9D:40:0B:26:AA:79:10:EC:FD:DE:35:F4:44:04:76:EF:B1:34:92:31:D1:E5:72",
        "ec63a53089e79d400b26aa7910ecfdde35f4440476efb1349231d1e572a77d73",
        "vncviewer -passwd /dev/stdin 127.0.0.1::5901",
        "/tmp/rubicon-launch-abcdefghijklmnopqrstuvwxyz012345/launch-0.rdp",
        "The desktop refused the console password.",
        "Wrong username or password.",
        "started VNC viewer as pid 4242",
    ],
)
def test_what_helps_debugging_stays(kept: str) -> None:
    assert redact(kept) == kept


def test_tokens_without_a_key_are_caught_by_their_look() -> None:
    token = "kT3bX9-qL2mP8sV4wY6zA1cE5gI7kM9oQ0rS2tU4"
    assert redact(f"sent {token} to the broker") == f"sent {MARK} to the broker"


@given(st.dictionaries(st.sampled_from(["note", "summary", "action"]), secret(PLAIN + " \\")))
def test_json_stays_json_when_a_value_inside_holds_a_secret(values: dict[str, str]) -> None:
    document = {key: f"found token={value} here" for key, value in values.items()}
    redacted = json.loads(redact(json.dumps(document)))
    assert set(redacted) == set(document)
    for key, value in values.items():
        assert value.split()[0] not in redacted[key]
