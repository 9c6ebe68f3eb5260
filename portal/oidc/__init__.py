"""OpenID Connect front end (docs/oidc.md): discovery, authorization, token, UserInfo, logout."""
