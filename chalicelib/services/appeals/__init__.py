"""Borrower appeals («обращение»): phone change, account deletion, break-in report.

Each type lives in one module, from filing to the staff decision (and expiry):
``phone_change``, ``deletion``, ``compromise``. What they share is ``common``
(loading, the one-open-appeal guard, filing, the summary both the borrower and
the desk see) and ``outcome`` (what every staff decision does); ``registry``
names every type's ``AppealKind``; ``decisions.decide`` is the staff decision.
The API exposes an appeal as a *request* (``/v1/requests``, ``request_id``).

Nothing is imported here: importing one module must not load the others.
"""
