"""Where members come from: the local directory (Postgres, argon2id) or iMIS, chosen by
PORTAL_DIRECTORY. Each is a Directory of the authentication core (portal/auth/accounts.py)."""

from portal.auth.accounts import Directory
from portal.directory import imis_directory, local
from portal.settings import Settings


def for_settings(settings: Settings) -> Directory:
    if settings.directory == "imis":
        return imis_directory.ImisDirectory(
            imis_directory.config_from(settings),
            settings.imis_max_concurrent,
            disabled_statuses=settings.imis_disabled_status_codes,
        )
    return local.LocalDirectory()
