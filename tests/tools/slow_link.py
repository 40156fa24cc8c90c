"""A slow link for the screenshots: httpx's own transport, with each attachment upload's body
held part-way until `release()`, so the window can be shown while a file uploads (on loopback a
whole photo leaves in milliseconds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx


class HeldBody(httpx.AsyncByteStream):
    def __init__(self, body: httpx.AsyncByteStream, total: int, link: SlowLink) -> None:
        self.body, self.total, self.link = body, total, link

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        async for chunk in self.body:
            if sent >= self.total * self.link.stop_at and not self.link.released.is_set():
                self.link.held.set()
                await self.link.released.wait()
            sent += len(chunk)
            yield chunk

    async def aclose(self) -> None:
        await self.body.aclose()


class SlowLink(httpx.AsyncBaseTransport):
    def __init__(self, stop_at: float = 0.45) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.stop_at = stop_at
        self.held = asyncio.Event()  # an upload waits part-way
        self.released = asyncio.Event()

    def release(self) -> None:
        self.released.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        length = request.headers.get("content-length", "")
        upload = request.method == "POST" and request.url.path.endswith("/Attachments")
        if upload and length.isdigit() and isinstance(request.stream, httpx.AsyncByteStream):
            request.stream = HeldBody(request.stream, int(length), self)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        self.release()
        await self.inner.aclose()
