"""Give every identifier guard the sign-in copy of its account (once, after deploying it).

Guards written before the copy existed lack it; sign-in then reads the account as
well (one more DynamoDB call, same answers). This walks the accounts (Scan: run it
with an operator's credentials, like ``devstack.consistency``) and, per live
account, writes the copy onto its three guards in one transaction that also checks
the account's ``version`` is still the one read: a concurrent change (password,
lock, device) makes it re-read and try again. Safe to run twice and while serving.

    python -m devstack.reindex_logins            # then: python -m devstack.consistency
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any


class _Changed(Exception):
    """The account or a guard changed since it was read."""


def copy_actions(account: Any) -> list[Any]:
    """The updates that make a guard carry ``account``'s sign-in copy."""
    from chalicelib.storage.accounts import IdentifierModel, login_copy

    actions = []
    for name, value in login_copy(account).items():
        attribute = getattr(IdentifierModel, name)
        actions.append(attribute.remove() if value is None else attribute.set(value))
    return actions


def reindex_account(account_id: str, attempts: int = 5) -> bool:
    """Copy one account onto its guards; False if it is gone or kept changing."""
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.storage import tx
    from chalicelib.storage.accounts import AccountModel, IdentifierModel, identifier_indexes

    for _ in range(attempts):
        try:
            account = AccountModel.get(account_id, consistent_read=True)
        except DoesNotExist:
            return False
        if account.status == "deleted":
            return False
        version = (
            AccountModel.version.does_not_exist()
            if account.version is None
            else AccountModel.version == account.version
        )
        try:
            with tx.write() as t:
                t.check(AccountModel, account_id, condition=version, on_fail=_Changed)
                for index in identifier_indexes(account):
                    t.update(
                        IdentifierModel(lookup=index),
                        copy_actions(account),
                        IdentifierModel.account_id == account_id,
                        on_fail=_Changed,
                    )
        except _Changed:
            continue
        return True
    return False


def reindex() -> dict[str, int]:
    """Every live account's guards; counts of copied and skipped accounts."""
    from chalicelib.storage.accounts import AccountModel

    counts = {"copied": 0, "skipped": 0}
    for account in AccountModel.scan(attributes_to_get=["account_id"]):
        counts["copied" if reindex_account(account.account_id) else "skipped"] += 1
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devstack.reindex_logins", description=__doc__.splitlines()[0]
    )
    parser.parse_args(argv)
    from devstack.staff_cli import use_local_stack_if_present

    use_local_stack_if_present()
    counts = reindex()
    print(f"copied {counts['copied']}, skipped {counts['skipped']} (deleted or changing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
