"""Email: messages are composed from templates/mail/ (compose.py), written to the outbox in the
caller's transaction and sent over SMTP (smtp.py) by the outbox's worker (sending.py, a kind of
portal/outbox/), which retries with back-off until the server takes them, so nothing is lost
while the SMTP server is down."""
