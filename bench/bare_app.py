"""The framework floor: a bare Quart app answering `/healthz` with the portal's JSON bytes,
served as `portal serve` serves the portal (portal/serve.py: Hypercorn, uvloop workers, no access
log, no Server header). What the portal's `/healthz` costs beyond it is the portal's own
per-request machinery. Imports none of `portal`.

    python bench/bare_app.py PORT WORKERS
"""

import sys
from pathlib import Path

from hypercorn.config import Config
from hypercorn.run import run
from quart import Quart

app = Quart(__name__)


@app.get("/healthz")
async def healthz() -> tuple[dict[str, str], int]:
    return {"status": "ok"}, 200


def main(port: int, workers: int) -> int:
    config = Config()
    config.accesslog = None
    config.include_server_header = False
    config.worker_class = "uvloop"
    # Hypercorn imports it by this file's path, whatever the working directory.
    config.application_path = f"{Path(__file__).resolve().with_suffix('')}:app"
    config.bind = [f"127.0.0.1:{port}"]
    config.workers = workers
    return run(config)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
