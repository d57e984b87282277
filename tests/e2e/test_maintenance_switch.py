"""The local stack honours the SSM maintenance switch, flipped as README "Deploying" says."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import boto3
import pytest
import requests

if TYPE_CHECKING:
    from conftest import LocalStack

pytestmark = pytest.mark.e2e


def test_put_parameter_closes_and_reopens_the_cabinet(
    spawn_local_stack: Callable[[], LocalStack], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HAVA_MAINTENANCE", raising=False)
    monkeypatch.setenv("HAVA_MAINTENANCE_CACHE_SECONDS", "0")  # the real cap is 60 s
    stack = spawn_local_stack()
    ssm = boto3.client(
        "ssm",
        endpoint_url=stack.aws_endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    product = f"{stack.base_url}/v1/product"
    assert requests.get(product, timeout=10).status_code == 200

    # aws ssm put-parameter --name /hava/maintenance --type String --overwrite --value on
    ssm.put_parameter(Name="/hava/maintenance", Type="String", Overwrite=True, Value="on")
    closed = requests.get(product, timeout=10)
    assert closed.status_code == 503
    assert closed.headers["Retry-After"] == "1800"
    assert closed.json()["error"]["code"] == "maintenance"
    assert requests.get(f"{stack.base_url}/health", timeout=10).status_code == 200

    ssm.put_parameter(Name="/hava/maintenance", Type="String", Overwrite=True, Value="off")
    assert requests.get(product, timeout=10).status_code == 200
