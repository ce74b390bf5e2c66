"""Which adapters the gateway serves. A new channel is one module plus one line here."""

from __future__ import annotations

from hotline.channels.base import ChannelAdapter
from hotline.channels.web import WebAdapter

ADAPTERS: list[type[ChannelAdapter]] = [WebAdapter]
