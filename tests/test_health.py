from quart import Quart

from portal import create_app
from portal.settings import Settings


async def test_healthz_answers_without_the_database(app: Quart) -> None:
    response = await app.test_client().get("/healthz")
    assert response.status_code == 200
    assert (await response.get_json()) == {"status": "ok"}


async def test_readyz_answers_when_the_database_does(app: Quart) -> None:
    response = await app.test_client().get("/readyz")
    assert response.status_code == 200
    assert (await response.get_json())["database"] == "ok"


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: object) -> None:
    dead = "postgresql://postgres@127.0.0.1:9/portal"  # port 9 (discard): nothing answers
    settings = Settings(env="development", database_url=dead, data_dir=tmp_path)
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        assert (await client.get("/readyz")).status_code == 503
        assert (await client.get("/healthz")).status_code == 200


async def test_unknown_urls_get_a_404_page(app: Quart) -> None:
    response = await app.test_client().get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in await response.get_data(as_text=True)


async def test_every_response_carries_the_security_headers(app: Quart) -> None:
    response = await app.test_client().get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
