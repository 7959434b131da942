"""Throughput of the public read endpoints, in-process (no network), on a seeded database.

Usage: DATABASE_URL=postgresql://... python bench/read_api.py [--seconds 3]

Prints requests per second per endpoint and each one's ratio to /healthz measured in the same
run, which says more than the absolute figures on a shared, noisy machine.
"""

import argparse
import asyncio
import time

import httpx

from app.core.config import get_settings
from app.main import create_app

IDENTITY = {"Accept-Encoding": "identity"}
GZIP = {"Accept-Encoding": "gzip"}
ENDPOINTS = [
    ("/healthz", IDENTITY),
    ("/api/v1/plan", IDENTITY),
    ("/api/v1/tasks?limit=200", IDENTITY),
    ("/api/v1/tasks?limit=200", GZIP),
    ("/api/v1/tasks?limit=20&q=du%20lieu", IDENTITY),
    ("/api/v1/tasks/B.3", IDENTITY),
    ("/api/v1/tasks/B.3", GZIP),
    ("/api/v1/indicators?limit=200", IDENTITY),
    ("/api/v1/agencies/STTTT", IDENTITY),
    ("/api/v1/dashboard", IDENTITY),
]


async def measure(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], seconds: float
) -> float:
    for _ in range(20):  # warm up
        assert (await client.get(path, headers=headers)).status_code == 200
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        response = await client.get(path, headers=headers)
        assert response.status_code == 200
        count += 1
    return count / (time.perf_counter() - start)


async def main(seconds: float) -> None:
    app = create_app(get_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            results = {
                f"{path} [{headers['Accept-Encoding']}]": await measure(
                    client, path, headers, seconds
                )
                for path, headers in ENDPOINTS
            }
    base = results["/healthz [identity]"]
    print(f"{'endpoint':52} {'req/s':>9} {'vs /healthz':>12}")
    for name, rate in results.items():
        print(f"{name:52} {rate:9.0f} {rate / base:12.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
