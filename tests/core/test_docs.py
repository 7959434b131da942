"""/docs and /redoc need no internet: every asset they load is served by the app."""

import re

import httpx
import pytest


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_only_local_assets(client: httpx.AsyncClient, page: str) -> None:
    html = (await client.get(page)).text
    urls = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert urls
    for url in urls:
        assert not url.startswith(("http://", "https://", "//")), url
        if url.startswith("/docs-assets/"):
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 1000, url
    assert "/openapi.json" in html


async def test_oauth2_redirect_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "oauth2" in response.text.lower()
