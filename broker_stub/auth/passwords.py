"""Password hashing with argon2id.

Hashes are computed on a few threads of their own, one per CPU core. argon2
releases the GIL, so more at once would not go faster, and each holds 19 MiB
while it runs. Threads of their own also keep that memory in few places: glibc
keeps what a thread freed in that thread's arena, so forty request threads
hashing in turn held 360 MiB after a login storm, and these hold under 100.
"""

from __future__ import annotations

import functools
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from broker_stub.domain.errors import PasswordTooShort

# OWASP's argon2id minimum: 19 MiB of memory, 2 passes, 1 lane.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
CONCURRENT_HASHES = (
    len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
)
# Its threads start with the first hash.
_workers = ThreadPoolExecutor(CONCURRENT_HASHES, thread_name_prefix="argon2")


def check_new_password(password: str, *, minimum: int) -> None:
    """Raise PasswordTooShort if a new local password breaks the site's policy
    (settings.password_min_length).

    Only a length: rules about character classes make people write their
    passwords down. Passwords set before keep working.
    """
    if len(password) < minimum:
        raise PasswordTooShort(minimum)


def hash_password(password: str) -> str:
    return _workers.submit(_hasher.hash, password).result()


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _workers.submit(_hasher.verify, password_hash, password).result()
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def burn_verification(password: str) -> None:
    """Spend the time of one real verification, for unknown usernames."""
    verify_password(_dummy_hash(), password)
