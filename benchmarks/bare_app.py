"""The bare endpoint the storm's launches are compared with: no database, no auth."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    # A sync route, like the broker's: it runs in the same thread pool.
    return {"status": "ok"}


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
