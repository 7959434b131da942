"""Throughput of the public read endpoints, in-process (no network), on a seeded database.

Usage: DATABASE_URL=postgresql://... python bench/read_api.py [--seconds 3]

Runs every endpoint twice in one process: with the cache of public answers off (each answer
built from the database) and on. Prints requests per second and the ratios measured in the
same run (cached ÷ built, built ÷ /healthz), which say more than the absolute figures on a
shared, noisy machine.
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


async def run(cache_entries: int, seconds: float) -> dict[str, float]:
    settings = get_settings().model_copy(
        update={"public_cache_entries": cache_entries, "webhook_worker": False}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return {
                f"{path} [{headers['Accept-Encoding']}]": await measure(
                    client, path, headers, seconds
                )
                for path, headers in ENDPOINTS
            }


async def main(seconds: float) -> None:
    built = await run(0, seconds)  # every answer built from the database
    cached = await run(512, seconds)  # the cache of public answers
    base = built["/healthz [identity]"]
    print(
        f"{'endpoint':48} {'built/s':>8} {'cached/s':>9} {'cached÷built':>13} {'built÷healthz':>14}"
    )
    for name, rate in built.items():
        print(
            f"{name:48} {rate:8.0f} {cached[name]:9.0f} {cached[name] / rate:13.1f}"
            f" {rate / base:14.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
