"""A throwaway OpenLDAP server for the test session, with a small seeded directory.

Built from scratch in a temp dir: a slapd.conf (no cn=config tree to bootstrap),
the entries loaded offline with slapadd, then slapd in the foreground (``-d 0``)
on a free loopback port, so the process we started is the server we stop.

Fixtures: ``ldap_server`` (session, a frozen ``LdapServer``) and
``ldap_tls_server`` (the same directory served with a self-signed certificate,
for StartTLS on ``url`` and TLS from the first byte on ``ldaps_url``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import pytest

from broker_stub.demo.xdisplay import free_tcp_port, port_open, stop_process
from tests.helpers.e2e import e2e_required

with warnings.catch_warnings():
    # ldap3 2.9.1 imports names pyasn1 >= 0.6.1 deprecates; harmless, and not ours.
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException

HOST = "127.0.0.1"
BASE_DN = "dc=rubicon,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "admin-pw"
SCHEMA_DIR = Path("/etc/ldap/schema")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")
MODULE_DIR = Path("/usr/lib/ldap")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# name: (cn, password)
PEOPLE = {
    "alice": ("Alice Example", "alice-pw"),
    "bob": ("Bob Example", "bob-pw"),
    "carol": ("Carol Example", "carol-pw"),
}
# groupOfNames: members by DN. posixGroup: members by uid (memberUid).
GROUPS = {"engineers": ("alice", "bob"), "finance": ("carol",)}
POSIX_GROUPS = {"staff": ("alice",)}


@dataclass(frozen=True)
class LdapServer:
    """Where the directory is and what is in it."""

    url: str
    base_dn: str
    bind_dn: str
    bind_password: str
    users: Mapping[str, str]  # uid -> password
    groups: Mapping[str, tuple[str, ...]]  # groupOfNames cn -> member uids
    posix_groups: Mapping[str, tuple[str, ...]]  # posixGroup cn -> memberUid values
    # With TLS: the ldaps:// URL, and the certificate to trust (self-signed, PEM).
    ldaps_url: str | None = None
    ca_file: Path | None = None

    @property
    def people_dn(self) -> str:
        return f"ou=people,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        return f"ou=groups,{self.base_dn}"

    def user_dn(self, uid: str) -> str:
        return f"uid={uid},{self.people_dn}"

    def group_dn(self, cn: str) -> str:
        return f"cn={cn},{self.groups_dn}"


def unavailable(reason: str) -> None:
    """Skip, or fail under RUBICON_REQUIRE_E2E=1 where a skip would hide a gap."""
    if e2e_required():
        pytest.fail(f"RUBICON_REQUIRE_E2E=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def find_program(name: str) -> Path | None:
    # /usr/sbin is not on an ordinary user's PATH on Debian.
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    return Path(found) if found else None


def require_slapd() -> tuple[Path, Path]:
    slapd, slapadd = find_program("slapd"), find_program("slapadd")
    schemas = [SCHEMA_DIR / f"{name}.schema" for name in SCHEMAS]
    if slapd is None or slapadd is None or not all(p.is_file() for p in schemas):
        unavailable("slapd is not installed: sudo apt-get install slapd ldap-utils")
    assert slapd is not None
    assert slapadd is not None
    return slapd, slapadd


def ssha(password: str) -> str:
    """A salted SHA-1 userPassword value, the scheme slapd verifies by default."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def slapd_conf(root: Path, tls: tuple[Path, Path] | None = None) -> str:
    lines = [f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS]
    if tls is not None:
        cert, key = tls
        lines += [f"TLSCertificateFile {cert}", f"TLSCertificateKeyFile {key}"]
    lines += [
        f"pidfile {root / 'slapd.pid'}",
        f"argsfile {root / 'slapd.args'}",
        f"modulepath {MODULE_DIR}",
        "moduleload back_mdb",
        "database mdb",
        f'suffix "{BASE_DN}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {ssha(ADMIN_PASSWORD)}",
        f"directory {root / 'data'}",
        "maxsize 33554432",
        "dbnosync",
        "index objectClass,uid,member,memberUid eq",
        # Passwords are only for binding; everything else anyone may read.
        "access to attrs=userPassword by self write by anonymous auth by * none",
        "access to * by * read",
    ]
    return "\n".join(lines) + "\n"


def seed_ldif(server: LdapServer) -> str:
    entries = [
        [
            f"dn: {BASE_DN}",
            "objectClass: dcObject",
            "objectClass: organization",
            "dc: rubicon",
            "o: Rubicon tests",
        ],
        [f"dn: {server.people_dn}", "objectClass: organizationalUnit", "ou: people"],
        [f"dn: {server.groups_dn}", "objectClass: organizationalUnit", "ou: groups"],
    ]
    for uid, (cn, password) in PEOPLE.items():
        given, sn = cn.split()
        entries.append(
            [
                f"dn: {server.user_dn(uid)}",
                "objectClass: inetOrgPerson",
                f"uid: {uid}",
                f"cn: {cn}",
                f"givenName: {given}",
                f"sn: {sn}",
                f"mail: {uid}@rubicon.test",
                f"userPassword: {ssha(password)}",
            ]
        )
    for cn, members in GROUPS.items():
        entries.append(
            [
                f"dn: {server.group_dn(cn)}",
                "objectClass: groupOfNames",
                f"cn: {cn}",
                *(f"member: {server.user_dn(uid)}" for uid in members),
            ]
        )
    for gid, (cn, members) in enumerate(POSIX_GROUPS.items(), start=5000):
        entries.append(
            [
                f"dn: {server.group_dn(cn)}",
                "objectClass: posixGroup",
                f"cn: {cn}",
                f"gidNumber: {gid}",
                *(f"memberUid: {uid}" for uid in members),
            ]
        )
    return "\n\n".join("\n".join(entry) for entry in entries) + "\n"


@dataclass
class Slapd:
    """A running slapd; ``stop()`` ends it and deletes its files."""

    server: LdapServer
    port: int
    root: Path
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = (self.root / "slapd.log").read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        stop_process(self.process, STOP_TIMEOUT)
        shutil.rmtree(self.root, ignore_errors=True)

    def _ready(self) -> bool:
        # ldap3 leaks its socket when the connection is refused: knock first.
        if not port_open(HOST, self.port):
            return False
        server = ldap3.Server(self.server.url, connect_timeout=1)
        conn = ldap3.Connection(
            server, self.server.bind_dn, self.server.bind_password, receive_timeout=2
        )
        try:
            return bool(conn.bind())
        except LDAPException:
            return False
        finally:
            conn.unbind()


def start_slapd(
    slapd: Path, slapadd: Path, timeout: float = START_TIMEOUT, *, tls: bool = False
) -> Slapd:
    """Configure, seed and start a private slapd on a free loopback port.

    With `tls`, it also gets a self-signed certificate for 127.0.0.1 and
    localhost, offers StartTLS and listens for ldaps:// on a second port.
    """
    root = Path(tempfile.mkdtemp(prefix="rubicon-slapd-"))
    instance: Slapd | None = None
    try:
        (root / "data").mkdir()
        files = None
        if tls:
            from broker_stub import tls as broker_tls

            made = broker_tls.create(root / "tls", ["localhost"])
            files = (made.cert, made.key)
        conf = root / "slapd.conf"
        conf.write_text(slapd_conf(root, files))
        port = free_tcp_port(HOST)
        ldaps_port = free_tcp_port(HOST) if tls else None
        server = LdapServer(
            url=f"ldap://{HOST}:{port}",
            base_dn=BASE_DN,
            bind_dn=ADMIN_DN,
            bind_password=ADMIN_PASSWORD,
            users=MappingProxyType({uid: pw for uid, (_cn, pw) in PEOPLE.items()}),
            groups=MappingProxyType(dict(GROUPS)),
            posix_groups=MappingProxyType(dict(POSIX_GROUPS)),
            ldaps_url=f"ldaps://{HOST}:{ldaps_port}" if ldaps_port else None,
            ca_file=files[0] if files else None,
        )
        (root / "seed.ldif").write_text(seed_ldif(server))
        seeded = subprocess.run(
            [slapadd, "-q", "-f", conf, "-l", root / "seed.ldif"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if seeded.returncode != 0:
            raise RuntimeError(f"slapadd failed:\n{seeded.stdout}{seeded.stderr}")
        listen = " ".join(f"{u}/" for u in (server.url, server.ldaps_url) if u)
        with (root / "slapd.log").open("ab") as log:
            process = subprocess.Popen(
                [slapd, "-f", conf, "-h", listen, "-d", "0"],
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        instance = Slapd(server, port, root, process)
        deadline = time.monotonic() + timeout
        while not instance._ready():
            if process.poll() is not None:
                raise RuntimeError(f"slapd exited while starting:\n{instance.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"slapd did not answer within {timeout:.0f}s:\n{instance.log_tail()}"
                )
            time.sleep(0.05)
        return instance
    except BaseException:
        if instance is not None:
            instance.stop()
        shutil.rmtree(root, ignore_errors=True)
        raise


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """A running, seeded OpenLDAP server shared by the whole test session."""
    instance = start_slapd(*require_slapd())
    try:
        yield instance.server
    finally:
        instance.stop()


@pytest.fixture(scope="session")
def ldap_tls_server() -> Iterator[LdapServer]:
    """Like ldap_server, with StartTLS and ldaps:// (trust `ca_file`)."""
    instance = start_slapd(*require_slapd(), tls=True)
    try:
        yield instance.server
    finally:
        instance.stop()
