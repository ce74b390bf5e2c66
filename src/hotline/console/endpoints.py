"""Serve the console's files (no build step: plain HTML, CSS and ES modules)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC = resources.files("hotline.console").joinpath("static")


def mount_console(app: FastAPI) -> None:
    router = APIRouter(include_in_schema=False)

    @router.get("/console")
    async def console_root() -> RedirectResponse:
        return RedirectResponse("/console/")

    @router.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    app.include_router(router)
    app.mount("/console", StaticFiles(directory=str(STATIC), html=True), name="console")
