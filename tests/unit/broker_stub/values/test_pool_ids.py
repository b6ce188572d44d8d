"""Pool ids on the broker's side: the rule the launcher shares (tests/helpers/pool_ids.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from broker_stub.config import ConfigError, load_config
from broker_stub.values import names
from tests.helpers import pool_ids

from ..admin_helpers import API, admin_headers
from ..conftest import Broker, PoolSpec, assert_problem


@pytest.mark.parametrize("pool_id", pool_ids.GOOD)
def test_a_pools_file_takes_every_good_id(
    write_config: Callable[..., Path], pools: list[PoolSpec], pool_id: str
) -> None:
    pools[0]["id"] = pool_id

    assert load_config(write_config(pools)).pools[0].id == pool_id
    assert re.fullmatch(names.POOL_ID_PATTERN, pool_id)


@pytest.mark.parametrize("pool_id", pool_ids.BAD)
def test_a_pools_file_refuses_every_bad_id_and_says_the_rule(
    write_config: Callable[..., Path], pools: list[PoolSpec], pool_id: str
) -> None:
    pools[0]["id"] = pool_id
    path = write_config(pools)

    with pytest.raises(ConfigError) as caught:
        load_config(path)

    assert str(caught.value).startswith(f"{path}: pools.0.id: ")
    assert "beginning and ending with a letter or digit" in str(caught.value)
    assert not re.fullmatch(names.POOL_ID_PATTERN, pool_id)


@pytest.mark.parametrize("pool_id", ["lab-", "-lab", "Lab"])
def test_the_admin_api_refuses_a_bad_id(broker: Broker, pool_id: str) -> None:
    reply = broker.client.get(
        f"{API}/entitlements", params={"pool": pool_id}, headers=admin_headers(broker)
    )

    assert_problem(reply, 422, "invalid_request")
