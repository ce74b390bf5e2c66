"""Carry intake messages from the gateway to the router: through Kafka, or in-process.

`publish` returns only when the messages are durable (Kafka acknowledged, or the database
committed in embedded mode); otherwise it raises `Unavailable` and the gateway must not
acknowledge the platform.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from hotline.intake.schema import IntakeMessage
from hotline.kit import tracing
from hotline.kit.errors import Unavailable

log = logging.getLogger(__name__)


class IntakeBus(Protocol):
    async def publish(self, messages: Sequence[IntakeMessage]) -> None: ...

    async def ready(self) -> bool: ...


class InProcessBus:
    """Embedded mode: the router's handler runs right here, in the request."""

    def __init__(self, handler: Callable[[Sequence[IntakeMessage]], Awaitable[Any]]) -> None:
        self.handler = handler

    async def publish(self, messages: Sequence[IntakeMessage]) -> None:
        try:
            await self.handler(messages)
        except Exception as exc:
            log.exception("in-process intake failed")
            raise Unavailable("the ticket store is not available; retry later",
                              retry_after=5) from exc

    async def ready(self) -> bool:
        return True


class KafkaBus:
    def __init__(self, producer: AIOKafkaProducer, topic: str, timeout: float = 10.0) -> None:
        self.producer = producer
        self.topic = topic
        self.timeout = timeout

    async def publish(self, messages: Sequence[IntakeMessage]) -> None:
        try:
            # The producer span's context travels in the `traceparent` header (when tracing is on).
            with tracing.span(f"{self.topic} publish", kind="producer",
                              attributes={"messaging.system": "kafka",
                                          "messaging.destination.name": self.topic,
                                          "messaging.batch.message_count": len(messages)}):
                # One deadline over both steps: `send` itself waits when the producer's buffer is
                # full or the topic's metadata is not known yet. (`asyncio.timeout` runs them in
                # this task; `wait_for` would start and schedule another task per request.)
                async with asyncio.timeout(self.timeout):
                    await self._send(messages, tracing.kafka_headers())
        except (KafkaError, TimeoutError, OSError) as exc:
            raise Unavailable("the message bus is not available; retry later", retry_after=5) from exc

    async def _send(self, messages: Sequence[IntakeMessage], trace_headers: list[tuple[str, bytes]]) -> None:
        futures = [
            await self.producer.send(self.topic, m.to_bytes(), key=m.partition_key,
                                     headers=[("schema_version", str(m.schema_version).encode()),
                                              ("channel", m.channel.value.encode()),
                                              *trace_headers])
            for m in messages
        ]
        for f in futures:  # acknowledged when every one is (acks=all)
            await f

    async def ready(self) -> bool:
        try:
            await asyncio.wait_for(self.producer.client.fetch_all_metadata(), 3)
            return True
        except Exception:  # noqa: BLE001 - whatever the reason, not ready
            return False
