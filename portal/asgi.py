"""The ASGI application each Hypercorn worker of `portal serve` loads; it logs in JSON."""

import sys

from portal import create_app, logs
from portal.settings import SettingsError

logs.configure()
try:
    app = create_app()
except SettingsError as exc:
    sys.exit(f"portal: {exc}")
