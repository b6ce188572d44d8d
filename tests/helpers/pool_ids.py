"""The one rule for pool ids, as examples both sides' tests try.

The broker takes a pool id from its pools file and the admin API
(broker_stub/values/names.py, POOL_ID_PATTERN); the launcher takes one from a
rubicon:// link and from ``--desktop`` (launcher/core/uri.py, startup.py). An
id one side accepts, the other must accept too: lower-case letters, digits
and '-', 1 to 64 characters, not beginning or ending with '-'.
"""

from __future__ import annotations

GOOD = [
    "engineering",
    "win-11",
    "lab-2",
    "a",
    "7",
    "9lives",
    "a-b-c",
    "a--b",
    "x" * 64,
]

BAD = [
    "",
    "lab-",
    "-lab",
    "-",
    "--",
    "Lab",
    "lab_2",
    "lab 2",
    "lab.2",
    "lab/2",
    "ünter",
    "x" * 65,
]
