"""PORTAL_SECRET_KEY as the portal uses it: it signs cookies, and sealing.py and pairwise.py
derive their keys from it. Development without one gets a key generated once and kept in the
data directory, so every worker and every restart of `portal demo` agree on it."""

import secrets

from portal.settings import Settings

DEVELOPMENT_KEY_FILE = "development-secret-key"


def in_use(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    key_file = settings.data_dir / DEVELOPMENT_KEY_FILE
    if not key_file.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)  # the key forges any cookie: readable by its owner only
    return key_file.read_text().strip()
