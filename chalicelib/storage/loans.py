"""Loans and their payments (table ``hava-loans``), all under the account's partition.

Sort keys: a loan is ``<loan_id>`` (a time-ordered id), each of its payments
``<loan_id>#payment#<time-ordered id>``: one Query on the account returns every
loan with its payments (``account_items``), which is how the cabinet shows them
in one DynamoDB call. Loan ids never contain ``#``.

Indexes: ``by_status`` (status, created_at) is the staff desk's lists, oldest
first; ``by_due`` (due_status, due_date) holds only loans that owe money
(``due_status`` is the status while issued or overdue, removed on repayment) and
is what the daily schedule queries for overdue loans and reminders — no Scan.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name

PAYMENT_MARK = "#payment#"


class LoansByStatus(GlobalSecondaryIndex["LoanModel"]):
    """Applications and loans by status, oldest first (the staff desk)."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class LoansByDue(GlobalSecondaryIndex["LoanModel"]):
    """Loans that owe money, by due date (sparse: only issued and overdue loans)."""

    class Meta:
        index_name = "by_due"
        projection = AllProjection()

    due_status = UnicodeAttribute(hash_key=True)
    due_date = UnicodeAttribute(range_key=True)


class LoanModel(Model):
    """One application and, once issued, the loan. Money in tenge as decimal strings.

    Personal data (the payout IBAN) is sealed (``adapters.crypto``, context
    ``{"purpose": "loan", "account_id", "loan_id"}``) like the profile's.
    """

    class Meta(BaseMeta):
        table_name = table_name("loans")

    account_id = UnicodeAttribute(hash_key=True)
    loan_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    amount = NumberAttribute()
    term_days = NumberAttribute()
    #: The contract's daily rate (fraction), and the rate accruing now (lower after an
    #: extension when the regulator caps the extension rate).
    daily_rate = UnicodeAttribute()
    accrual_rate = UnicodeAttribute(null=True)
    interest = UnicodeAttribute()
    total = UnicodeAttribute()
    gesv_percent = UnicodeAttribute()
    created_at = UnicodeAttribute()
    #: The repayment date (ISO date), set when the loan is issued; moved by extensions.
    due_date = UnicodeAttribute(null=True)
    #: = status while money is owed (the sparse ``by_due`` index), else absent.
    due_status = UnicodeAttribute(null=True)
    # Decisions.
    decided_at = UnicodeAttribute(null=True)
    decision_reason = UnicodeAttribute(null=True)
    # Payout account (sealed JSON: iban, bank, confirmed_at) and the signed agreement.
    payout_account = UnicodeAttribute(null=True)
    payout_bank = UnicodeAttribute(null=True)
    signed_at = UnicodeAttribute(null=True)
    agreement_key = UnicodeAttribute(null=True)
    agreement_sha256 = UnicodeAttribute(null=True)
    agreement_version = UnicodeAttribute(null=True)
    #: The Kazakh text of the same agreement (both are signed; loans signed before it: none).
    agreement_key_kk = UnicodeAttribute(null=True)
    agreement_sha256_kk = UnicodeAttribute(null=True)
    # Issue.
    issue_date = UnicodeAttribute(null=True)
    payout_reference = UnicodeAttribute(null=True)
    #: What the borrower writes in the transfer's purpose (unique per loan).
    payment_reference = UnicodeAttribute(null=True)
    # The balance (domain.lending.Balance), accrued through ``accrued_through``.
    principal_due = UnicodeAttribute(null=True)
    interest_due = UnicodeAttribute(null=True)
    penalty_due = UnicodeAttribute(null=True)
    charged = UnicodeAttribute(null=True)
    accrued_through = UnicodeAttribute(null=True)
    principal_paid = UnicodeAttribute(null=True)
    interest_paid = UnicodeAttribute(null=True)
    penalty_paid = UnicodeAttribute(null=True)
    interest_waived = UnicodeAttribute(null=True)
    #: Sum of every recorded payment (the consistency checker compares the items).
    paid_total = UnicodeAttribute(null=True)
    payments_count = NumberAttribute(null=True)
    extensions = NumberAttribute(null=True)
    #: An extension being signed: {"days", "new_due", "pay_now", "rate"} as JSON.
    pending_extension = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    #: A repeat application (the borrower had a repaid loan before).
    repeat = BooleanAttribute(null=True)
    version = VersionAttribute()

    by_status = LoansByStatus()
    by_due = LoansByDue()


class PaymentModel(Model):
    """One payment of a loan, recorded by staff from the bank statement."""

    class Meta(BaseMeta):
        table_name = table_name("loans")

    account_id = UnicodeAttribute(hash_key=True)
    #: ``<loan_id>#payment#<sortable id>``.
    loan_id = UnicodeAttribute(range_key=True)
    #: Stored as ``paid_amount``: the loan items' ``amount`` is a number, and a Scan of
    #: the shared table (the consistency checker) reads every item with both models.
    amount = UnicodeAttribute(attr_name="paid_amount")
    paid_on = UnicodeAttribute()
    #: Keyed hash of the bank reference (the key of its guard item).
    reference_index = UnicodeAttribute()
    #: ``repayment`` or ``extension``.
    kind = UnicodeAttribute()
    to_principal = UnicodeAttribute()
    to_interest = UnicodeAttribute()
    to_penalty = UnicodeAttribute()
    change = UnicodeAttribute()
    recorded_by = UnicodeAttribute()
    recorded_at = UnicodeAttribute()


def payment_key(loan_id: str, payment_id: str) -> str:
    """The sort key of a payment of ``loan_id``."""
    return f"{loan_id}{PAYMENT_MARK}{payment_id}"


def loan_of_payment(payment: PaymentModel) -> str:
    """The loan id a payment belongs to."""
    return payment.loan_id.split(PAYMENT_MARK, 1)[0]


def account_items(account_id: str) -> tuple[list[LoanModel], list[PaymentModel]]:
    """Every loan and payment of an account, in sort-key order: one Query (per 1 MB page)."""
    connection = LoanModel._get_connection()
    loans: list[LoanModel] = []
    payments: list[PaymentModel] = []
    start: dict[str, Any] | None = None
    while True:
        page = connection.query(account_id, exclusive_start_key=start, consistent_read=True)
        for item in page.get("Items", []):
            if PAYMENT_MARK in item["loan_id"]["S"]:
                payments.append(PaymentModel.from_raw_data(item))
            else:
                loans.append(LoanModel.from_raw_data(item))
        start = page.get("LastEvaluatedKey")
        if not start:
            return loans, payments


def loans_of(account_id: str) -> list[LoanModel]:
    """The account's loans (without payments), oldest first."""
    return account_items(account_id)[0]
