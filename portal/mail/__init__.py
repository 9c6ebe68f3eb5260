"""Email as a component of its own: messages are composed from templates/mail/, written to an
outbox table in the caller's transaction (outbox.py), and delivered over SMTP (smtp.py) by a
worker task in every app process (worker.py), which retries with back-off until the server takes
them, so nothing is lost while the SMTP server is down."""
