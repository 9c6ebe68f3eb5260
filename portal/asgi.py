"""The ASGI application each Hypercorn worker of `portal serve` loads; it logs in JSON."""

import gc
import sys

from portal import create_app, logs
from portal.settings import SettingsError

logs.configure()
try:
    app = create_app()
except SettingsError as exc:
    sys.exit(f"portal: {exc}")
# The collector's cost, measured per request under load (bench/README.md): 25 µs before these two
# lines, 1 µs after. What the worker holds from here on (modules, the app, its routes and
# templates) lives as long as the worker: frozen, it is no longer scanned by every full
# collection. And a young collection every 10,000 allocations rather than 700: each request's
# short-lived objects are mostly freed by reference counting before one runs.
gc.freeze()
gc.set_threshold(10_000, 10, 10)
