"""A fresh process doing only what any login must (run by ``bench.cold``).

Import boto3, create a DynamoDB client, one GetItem and one PutItem against the
same moto server, one argon2id verify with the application's parameters
(``BENCH_ARGON2`` = ``t,m_kib,p``; ``BENCH_HASH`` made by the parent with them).
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from argon2 import PasswordHasher, Type


def main() -> int:
    """The floor of any cold login."""
    time_cost, memory_kib, parallelism = (int(x) for x in os.environ["BENCH_ARGON2"].split(","))
    table = os.environ["BENCH_TABLE"]
    dynamodb = boto3.client("dynamodb")
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "login"}})
    dynamodb.put_item(
        TableName=table, Item={"pk": {"S": "login"}, "at": {"N": f"{time.time():.6f}"}}
    )
    hasher = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
    )
    hasher.verify(os.environ["BENCH_HASH"], os.environ["BENCH_PASSWORD"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
