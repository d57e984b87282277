"""Loan applications and loans (table ``hava-loans``)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.storage.base import BaseMeta, table_name


class LoansByStatus(GlobalSecondaryIndex["LoanModel"]):
    """Applications by status, oldest first (the staff queue)."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class LoanModel(Model):
    """One application and, once issued, the loan. Amounts in tenge as decimal strings."""

    class Meta(BaseMeta):
        table_name = table_name("loans")

    account_id = UnicodeAttribute(hash_key=True)
    loan_id = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    amount = NumberAttribute()
    term_days = NumberAttribute()
    daily_rate = UnicodeAttribute()
    interest = UnicodeAttribute()
    total = UnicodeAttribute()
    gesv_percent = UnicodeAttribute()
    created_at = UnicodeAttribute()
    #: Set when the loan is issued: the repayment date (ISO date).
    due_date = UnicodeAttribute(null=True)
    version = VersionAttribute()

    by_status = LoansByStatus()
