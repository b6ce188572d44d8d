"""Sign-in against an LDAP directory or Active Directory, with ldap3.

Two ways to find the user, chosen by settings (RUBICON_BROKER_LDAP_*):

- search (the default): bind as the search account (or anonymously), find
  the one entry that `user_filter` matches under `user_base`, then check the
  password by binding as that entry's DN on a second connection;
- direct bind: bind as `user_dn_template` with the username put in
  (`uid={username},ou=people,...`, or `{username}@example.com` for AD), then
  read the user's own entry with that connection.

Groups come from a search under `group_base` (`group_filter` matches
groupOfNames/groupOfUniqueNames `member` by DN and posixGroup `memberUid`
by username) and from the user's `memberOf` attribute (AD, or OpenLDAP's
memberof overlay). Every value put into a filter is escaped.

URLs are tried in order until one answers. A directory that cannot be
reached, refuses TLS or refuses the search account raises
DirectoryUnavailable (a 503, not a wrong password). Every connection is
closed on every path: ldap3 keeps the socket of a refused connection open,
so it is closed by hand.
"""

from __future__ import annotations

import re
import ssl
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from broker_stub import log
from broker_stub.auth.directory import DirectoryRefused, DirectoryUser
from broker_stub.config import ConfigError
from broker_stub.domain.errors import DirectoryUnavailable
from broker_stub.settings import LdapSettings

with warnings.catch_warnings():
    # ldap3 2.9.1 touches names pyasn1 >= 0.6.1 deprecates, at import.
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars
    from ldap3.utils.dn import escape_rdn, parse_dn

NAME_MAX = 200  # users.display_name and groups.name hold this many characters
DISPLAY_NAME_ATTRIBUTES = ("displayName", "cn")


class LdapDirectory:
    """The directory that `settings` describe; one per broker, safe to share."""

    def __init__(self, settings: LdapSettings) -> None:
        problem = _misconfigured(settings)
        if problem:
            raise ConfigError(problem)
        self.settings = settings
        self._tls = _VerifiedTls(settings.ca_file)

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        if not username or not password:
            # An empty password makes a simple bind anonymous, and anonymous succeeds.
            raise DirectoryRefused("wrong_password")
        try:
            with ExitStack() as stack:
                if self.settings.user_dn_template:
                    return self._direct_bind(stack, username, password)
                return self._search_and_bind(stack, username, password)
        except LDAPException as exc:
            log.auth.error("LDAP error while signing in %r: %s", username, _reason(exc))
            raise DirectoryUnavailable() from None

    # The two ways to check a password

    def _search_and_bind(self, stack: ExitStack, username: str, password: str) -> DirectoryUser:
        s = self.settings
        search = stack.enter_context(self._connection())
        if s.bind_dn and s.bind_password:
            bound = search.rebind(
                s.bind_dn, s.bind_password.get_secret_value(), authentication=ldap3.SIMPLE
            )
        else:
            bound = search.bind()  # anonymous
        if not bound:
            log.auth.error(
                "LDAP: the search account %s cannot bind (%s); check "
                "RUBICON_BROKER_LDAP_BIND_DN and RUBICON_BROKER_LDAP_BIND_PASSWORD",
                s.bind_dn or "(anonymous)",
                search.result.get("description"),
            )
            raise DirectoryUnavailable()
        entry = self._find_user(search, username)
        if entry is None:
            raise DirectoryRefused("unknown_user")
        with self._connection() as check:
            if not check.rebind(entry["dn"], password, authentication=ldap3.SIMPLE):
                self._log_refused(username, check)
                raise DirectoryRefused("wrong_password")
        return self._directory_user(search, entry, username)

    def _direct_bind(self, stack: ExitStack, username: str, password: str) -> DirectoryUser:
        s = self.settings
        assert s.user_dn_template is not None
        dn = s.user_dn_template.replace("{username}", escape_rdn(username))
        conn = stack.enter_context(self._connection())
        if not conn.rebind(dn, password, authentication=ldap3.SIMPLE):
            self._log_refused(username, conn)
            # A directory does not tell a wrong password from an unknown DN.
            raise DirectoryRefused("wrong_password")
        entry = self._find_user(conn, username) if s.user_base else None
        if entry is None:
            entry = {"dn": dn, "attributes": {}}
        return self._directory_user(conn, entry, username)

    # Reading the directory

    def _find_user(self, conn: ldap3.Connection, username: str) -> dict[str, Any] | None:
        s = self.settings
        query = s.user_filter.replace("{username}", escape_filter_chars(username))
        attributes = [s.username_attribute, *DISPLAY_NAME_ATTRIBUTES]
        if s.member_of_attribute:
            attributes.append(s.member_of_attribute)
        entries = self._search(conn, s.user_base, query, attributes, size_limit=2)
        if len(entries) > 1:
            log.auth.warning(
                "LDAP: %s under %s matches more than one entry for %r; refusing the sign-in. "
                "Make RUBICON_BROKER_LDAP_USER_FILTER match one entry per user",
                query,
                s.user_base,
                username,
            )
            raise DirectoryRefused("ambiguous_user")
        return entries[0] if entries else None

    def _directory_user(
        self, conn: ldap3.Connection, entry: dict[str, Any], typed: str
    ) -> DirectoryUser:
        s = self.settings
        attributes: dict[str, Any] = entry.get("attributes", {})
        # The directory's spelling ("alice" for "ALICE"): one broker user per person.
        username = _first(attributes, s.username_attribute) or typed
        display = next(
            (v for a in DISPLAY_NAME_ATTRIBUTES if (v := _first(attributes, a))), username
        )
        groups: set[str] = set()
        if s.member_of_attribute:
            for group_dn in _values(attributes, s.member_of_attribute):
                name = _rdn_value(group_dn)
                if name:
                    groups.add(name)
        if s.group_base:
            query = s.group_filter.replace("{dn}", escape_filter_chars(entry["dn"])).replace(
                "{username}", escape_filter_chars(username)
            )
            for group in self._search(conn, s.group_base, query, [s.group_name_attribute]):
                name = _first(group.get("attributes", {}), s.group_name_attribute)
                if name:
                    groups.add(name)
        too_long = sorted(g for g in groups if len(g) > NAME_MAX)
        if too_long:
            log.auth.warning(
                "LDAP: ignoring group names over %d characters: %s", NAME_MAX, too_long
            )
        return DirectoryUser(
            username=username,
            display_name=display[:NAME_MAX],
            dn=entry["dn"],
            groups=tuple(sorted(g for g in groups if len(g) <= NAME_MAX)),
        )

    def _search(
        self,
        conn: ldap3.Connection,
        base: str,
        query: str,
        attributes: list[str],
        size_limit: int = 0,
    ) -> list[dict[str, Any]]:
        conn.search(
            base,
            query,
            search_scope=ldap3.SUBTREE,
            attributes=attributes,
            size_limit=size_limit,
            time_limit=max(1, int(self.settings.timeout)),
        )
        # sizeLimitExceeded still returns the entries found: enough to see "more than one".
        if conn.result.get("description") not in ("success", "sizeLimitExceeded"):
            log.auth.error(
                "LDAP search under %r with %s failed: %s %s",
                base,
                query,
                conn.result.get("description"),
                conn.result.get("message") or "",
            )
            raise DirectoryUnavailable()
        return [e for e in conn.response or [] if e.get("type") == "searchResEntry"]

    # Connections

    @contextmanager
    def _connection(self) -> Iterator[ldap3.Connection]:
        """An open (not yet bound) connection to the first server that answers."""
        s = self.settings
        for url in s.urls:
            server = ldap3.Server(
                url, get_info=ldap3.NONE, connect_timeout=s.connect_timeout, tls=self._tls
            )
            conn = ldap3.Connection(
                server,
                receive_timeout=max(1, int(s.timeout)),
                read_only=True,
                raise_exceptions=False,
            )
            try:
                conn.open()
                if s.start_tls and not server.ssl and not conn.start_tls():
                    raise LDAPException(f"StartTLS refused: {conn.result.get('description')}")
            except LDAPException as exc:
                _close(conn)
                log.auth.warning("LDAP server %s is unavailable: %s", url, _reason(exc))
                continue
            try:
                yield conn
            finally:
                _close(conn)
            return
        log.auth.error("LDAP: no server answered (%s)", ", ".join(s.urls))
        raise DirectoryUnavailable()

    @staticmethod
    def _log_refused(username: str, conn: ldap3.Connection) -> None:
        log.auth.info(
            "LDAP refused the password of %r: %s", username, conn.result.get("description")
        )


class _VerifiedTls(ldap3.Tls):
    """TLS for ldaps:// and StartTLS, verified by the standard library.

    The certificate must chain to `ca_file` (else the system's CAs) and name
    the host of the URL; TLS 1.2 or newer. ldap3's own wrapping checks the
    name with ssl.match_hostname (deprecated, gone in Python 3.12) after the
    handshake and leaves the socket open when the name does not match; here
    OpenSSL checks it during the handshake, and a failed handshake closes
    the socket.
    """

    def __init__(self, ca_file: Path | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def wrap_socket(self, connection: ldap3.Connection, do_handshake: bool = False) -> None:
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_hostname=connection.server.host,
            do_handshake_on_connect=True,
        )


def _misconfigured(s: LdapSettings) -> str | None:
    """What is wrong with LDAP settings that cannot work, in one sentence."""
    env = "RUBICON_BROKER_LDAP_"
    if not s.enabled:
        return f"LDAP is off: set {env}URL to turn it on"
    for url in s.urls:
        if not url.lower().startswith(("ldap://", "ldaps://")):
            return f"{env}URL: {url!r} is not an ldap:// or ldaps:// URL"
    if s.bind_dn and not s.bind_password:
        return f"{env}BIND_DN is set but {env}BIND_PASSWORD is not; set both, or neither"
    if not s.user_dn_template and not s.user_base:
        return f"set {env}USER_BASE (where to search for users) or {env}USER_DN_TEMPLATE"
    if s.ca_file is not None and not s.ca_file.is_file():
        return f"{env}CA_FILE: {s.ca_file} is not a readable file"
    return None


def _close(conn: ldap3.Connection) -> None:
    try:
        conn.unbind()
    except LDAPException as exc:
        log.auth.debug("LDAP unbind failed: %s", exc)
    finally:
        # A refused or broken connection leaves its socket open in ldap3.
        sock = getattr(conn, "socket", None)
        if sock is not None:
            sock.close()


def _reason(exc: BaseException) -> str:
    # ldap3 nests its messages in tuples: keep the words.
    return re.sub(r"^[(\"',\s]+|[)\"',\s]+$", "", str(exc)) or type(exc).__name__


def _values(attributes: dict[str, Any], name: str) -> list[str]:
    value = attributes.get(name)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    return [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in values]


def _first(attributes: dict[str, Any], name: str) -> str | None:
    values = [v for v in _values(attributes, name) if v.strip()]
    return values[0].strip() if values else None


def _rdn_value(dn: str) -> str | None:
    """ "Engineers" for "CN=Engineers,OU=Groups,DC=example,DC=com"."""
    try:
        parts = parse_dn(dn)
    except LDAPException:
        return None
    return str(parts[0][1]) if parts else None
