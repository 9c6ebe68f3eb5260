"""The ASGI application for Hypercorn (the Procfile's target)."""

import sys

from portal import create_app
from portal.settings import SettingsError

try:
    app = create_app()
except SettingsError as exc:
    sys.exit(f"portal: {exc}")
