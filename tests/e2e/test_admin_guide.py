"""docs/admin.md, walked as an administrator would: from nothing to two TLS
broker nodes on one PostgreSQL, users from LDAP, a floating and a dedicated pool.

Every step is the command the guide gives, run as a real process: `init`,
`migrate`, `users add --admin`, a pools file, two `serve` processes with the
LDAP settings in their environment, then launchers' requests over HTTPS
(trusting the certificate `init` made, host name checked, as a managed client
machine does) and the admin's checks through the API and the command line.
Each broker is started with a timeout and stopped by its PID.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker_stub.demo.xdisplay import free_tcp_port, stop_process
from tests.helpers.e2e import wait_for
from tests.helpers.slapd import LdapServer

pytestmark = pytest.mark.e2e

HOST = "127.0.0.1"
COMMAND_TIMEOUT = 60.0
START_TIMEOUT = 40.0
STOP_TIMEOUT = 10.0
ADMIN_PASSWORD = "correct horse battery staple"

POOLS = """
[[pools]]
id = "engineering"
name = "Engineering desktop"
protocol = "vnc"
disconnect_timeout = "30m"
health_check = false  # these hosts are made up: nothing to probe
groups = ["engineers"]

  [[pools.machines]]
  name = "eng-1"
  host = "10.0.20.11"
  port = 5901
  password = "eng-pw-1"

  [[pools.machines]]
  name = "eng-2"
  host = "10.0.20.12"
  port = 5901
  password = "eng-pw-2"

[[pools]]
id = "design"
name = "Design workstation"
kind = "dedicated"
protocol = "vnc"
health_check = false
users = ["alice", "carol"]

  [[pools.machines]]
  name = "design-1"
  host = "10.0.30.11"
  port = 5901
  password = "dsgn-pw"

  [[pools.machines]]
  name = "design-2"
  host = "10.0.30.12"
  port = 5901
  password = "dsgn-pw"
"""


class Admin:
    """Runs `rubicon-broker` commands with the broker user's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def run(self, *args: str, stdin: str = "") -> str:
        result = subprocess.run(
            [sys.executable, "-m", "broker_stub.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, f"{args}: {result.stderr}"
        return result.stdout


@pytest.fixture
def admin(tmp_path: Path) -> Admin:
    """A home for the broker's user: its config and data directories are private."""
    home = tmp_path / "rubicon-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUBICON_BROKER_")}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    return Admin(env)


def ldap_environment(server: LdapServer) -> dict[str, str]:
    """The guide's OpenLDAP example, pointed at the test directory (StartTLS)."""
    assert server.ca_file is not None
    return {
        "RUBICON_BROKER_LDAP_URL": server.url,
        "RUBICON_BROKER_LDAP_START_TLS": "true",
        "RUBICON_BROKER_LDAP_CA_FILE": str(server.ca_file),
        "RUBICON_BROKER_LDAP_BIND_DN": server.bind_dn,
        "RUBICON_BROKER_LDAP_BIND_PASSWORD": server.bind_password,
        "RUBICON_BROKER_LDAP_USER_BASE": server.people_dn,
        "RUBICON_BROKER_LDAP_GROUP_BASE": server.groups_dn,
    }


@pytest.fixture
def nodes(
    admin: Admin, tmp_path: Path, postgres_url: str, ldap_tls_server: LdapServer
) -> Iterator[list[str]]:
    """The walk up to two serving nodes; yields their https:// URLs."""
    # init: the key and certificate, under the broker user's config directory.
    made = admin.run("init", "--hostname", "localhost")
    assert "readable by you only" in made
    key = Path(admin.env["XDG_CONFIG_HOME"]) / "rubicon" / "broker" / "key.pem"
    assert key.stat().st_mode & 0o077 == 0

    # migrate once before the nodes start; users add makes the first admin.
    assert "Upgraded the database" in admin.run("migrate", "--database-url", postgres_url)
    admin.run(
        "users", "add", "root", "--admin", "--password-stdin",
        "--database-url", postgres_url,
        stdin=ADMIN_PASSWORD + "\n",
    )  # fmt: skip

    pools = tmp_path / "pools.toml"
    pools.write_text(POOLS)
    pools.chmod(0o600)

    env = {
        **admin.env,
        **ldap_environment(ldap_tls_server),
        "RUBICON_BROKER_CONFIG": str(pools),
        "RUBICON_BROKER_DATABASE_URL": postgres_url,
    }
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    urls: list[str] = []
    try:
        for name in ("node1", "node2"):
            port = free_tcp_port(HOST)
            log_path = tmp_path / f"{name}.log"
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "broker_stub.cli", "serve",
                     "--host", HOST, "--port", str(port)],
                    env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                )  # fmt: skip
            started.append((process, log_path))
            urls.append(f"https://localhost:{port}")
        for (process, log_path), url in zip(started, urls, strict=True):
            check = functools.partial(healthy, process, url, log_path, trust(admin))
            wait_for(check, timeout=START_TIMEOUT, what=f"{url}/healthz")
        yield urls
    finally:
        for process, _ in started:
            stop_process(process, STOP_TIMEOUT)


def trust(admin: Admin) -> ssl.SSLContext:
    """A client machine that has the broker's cert.pem in its CA store."""
    cert = Path(admin.env["XDG_CONFIG_HOME"]) / "rubicon" / "broker" / "cert.pem"
    return ssl.create_default_context(cafile=str(cert))


def healthy(
    process: subprocess.Popen[bytes], url: str, log_path: Path, context: ssl.SSLContext
) -> bool:
    if process.poll() is not None:
        pytest.fail(f"{url} exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
    try:
        return httpx.get(f"{url}/healthz", verify=context, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


class Launcher:
    """What a launcher does over HTTPS against one node."""

    def __init__(self, url: str, context: ssl.SSLContext) -> None:
        self.client = httpx.Client(base_url=url, verify=context, timeout=30)
        self.headers: dict[str, str] = {}

    def sign_in(self, username: str, password: str) -> dict[str, Any]:
        reply = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        self.headers = {"Authorization": f"Bearer {body['token']}"}
        return body

    def get(self, path: str) -> Any:
        reply = self.client.get(path, headers=self.headers)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def launch(self, pool: str) -> dict[str, Any]:
        reply = self.client.post(f"/api/v1/desktops/{pool}/launch", headers=self.headers)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body


@pytest.fixture
def launcher(admin: Admin, nodes: list[str]) -> Iterator[Callable[[int], Launcher]]:
    """launcher(i): a new launcher talking to node i."""
    made: list[Launcher] = []

    def make(i: int) -> Launcher:
        made.append(Launcher(nodes[i], trust(admin)))
        return made[-1]

    yield make
    for one in made:
        one.client.close()


def test_the_admin_guide_from_an_empty_machine_to_two_nodes(
    admin: Admin,
    launcher: Callable[[int], Launcher],
    postgres_url: str,
    ldap_tls_server: LdapServer,
    tmp_path: Path,
) -> None:
    alice_1, alice_2, bob = launcher(0), launcher(1), launcher(1)

    # LDAP users sign in on either node; groups come from the directory.
    signed_in = alice_1.sign_in("alice", "alice-pw")
    alice_2.sign_in("alice", "alice-pw")
    bob.sign_in("bob", "bob-pw")
    assert signed_in["user"]["username"] == "alice"
    listed = {d["id"]: d["state"] for d in alice_1.get("/api/v1/desktops")["desktops"]}
    assert listed == {"design": "available", "engineering": "available"}
    assert [d["id"] for d in bob.get("/api/v1/desktops")["desktops"]] == ["engineering"]

    # A floating pool: two users, two machines, whichever node they use.
    eng_alice = alice_1.launch("engineering")
    eng_bob = bob.launch("engineering")
    hosts = {eng_alice["connection"]["host"], eng_bob["connection"]["host"]}
    assert hosts == {"10.0.20.11", "10.0.20.12"}
    # The other node knows alice's session: a launch there reconnects to it.
    again = alice_2.launch("engineering")
    assert again["session_id"] == eng_alice["session_id"]

    # A dedicated pool: the first launch binds a machine; after log off it stays hers.
    design = alice_2.launch("design")
    bound = design["connection"]["host"]
    reply = alice_1.client.post(
        f"/api/v1/sessions/{design['session_id']}/logoff", headers=alice_1.headers
    )
    assert reply.status_code == 204, reply.text
    assert alice_1.launch("design")["connection"]["host"] == bound

    # The admin sees all of it from either node, and from the command line.
    root = launcher(1)
    root.sign_in("root", ADMIN_PASSWORD)
    sessions = root.get("/api/v1/admin/sessions?state=pending")["sessions"]
    assert sorted((s["user"], s["pool"]) for s in sessions) == [
        ("alice", "design"),
        ("alice", "engineering"),
        ("bob", "engineering"),
    ]
    listed_cli = json.loads(
        admin.run(
            "sessions", "list", "--state", "pending", "--json", "--database-url", postgres_url
        )
    )
    assert {s["id"] for s in listed_cli} == {s["id"] for s in sessions}
    machines = admin.run("machines", "list", "design", "--database-url", postgres_url)
    assert any(
        line.split()[:1] == [_name(bound)] and "alice" in line for line in machines.splitlines()
    )

    # Every pool and machine exists once, although both nodes started with the file.
    pools = json.loads(admin.run("pools", "list", "--json", "--database-url", postgres_url))
    assert sorted(p["id"] for p in pools) == ["design", "engineering"]
    assert [sum(p["machines"].values()) for p in sorted(pools, key=lambda p: p["id"])] == [2, 2]

    # Neither node logged a password, a console password or a token.
    secrets = [
        ADMIN_PASSWORD, "alice-pw", "bob-pw", "eng-pw-1", "eng-pw-2", "dsgn-pw",
        ldap_tls_server.bind_password, alice_1.headers["Authorization"].split()[1],
    ]  # fmt: skip
    for name in ("node1", "node2"):
        text = (tmp_path / f"{name}.log").read_text()
        assert "scheduler started" in text, text[-2000:]
        assert [s for s in secrets if s in text] == [], name


def _name(host: str) -> str:
    return {"10.0.30.11": "design-1", "10.0.30.12": "design-2"}[host]
