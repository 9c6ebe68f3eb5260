"""The SAML 2.0 front end (issue 24): the portal as a SAML identity provider over the same
members and sessions as the Enhanced and OpenID Connect front ends.

So far the protocol core only, as library modules: the hardened XML parser (xml_parser.py), the
two bindings' encodings (bindings.py), signatures (signatures.py) and encryption
(encryption.py), the IdP's certificates (certificates.py), metadata (metadata.py for the
portal's, sp_metadata.py for a vendor's), the requests a vendor sends (requests.py) and the
messages the portal sends (responses.py). No route or front-end registration uses them yet."""
