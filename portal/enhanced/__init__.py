"""The Enhanced SSO front end (protocol.md): the member-facing views (views.py), the vendor's
request (requests.py), one-time tokens (tokens.py) and the user service (api.py). It asks the
authentication core (portal/auth) who the member is; docs/layout.md says where it sits."""
