"""The authentication core: how a person is authenticated, whichever front end asks.

One sign-in attempt for members and staff (sign_in.py) over any directory (accounts.py says what
a directory answers), the sessions it starts (sessions.py), the throttle (throttle.py, with the
device notes of devices.py) and password hashing (passwords.py). Nothing here reads a request:
front ends pass in what they know of it (docs/layout.md)."""
