"""The one outbox (docs/operations.md#the-outbox): work the portal must do outside a request —
an email to send, a vendor to tell of a sign-out — written as a row in the transaction that
caused it, and done by a worker task in every app process. `models.py` is the table, `queue.py`
claims, retries and settles rows whatever their kind; portal/background.py runs a loop per kind.
Each kind (mail in portal/mail/sending.py, back-channel logout notices in
portal/logout_notices.py) brings its payload, how to send one, and what to audit."""
