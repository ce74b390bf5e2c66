"""WeChat, Weibo and the three SMS providers through the production path: gateway → Kafka → router."""

from __future__ import annotations

import asyncio

import pytest
from wechatpy.crypto import WeChatCrypto

from hotline.api.app import create_app
from hotline.kit.db import Database
from hotline.worker import run_router
from tests.channels import test_sms_aliyun as aliyun
from tests.channels import test_sms_tencent as tencent
from tests.channels import test_sms_twilio as twilio
from tests.channels import test_wechat as wechat
from tests.channels import test_weibo as weibo
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for
from tests.support.broker import Broker
from tests.support.kafka import create_topic, eventually

pytestmark = pytest.mark.kafka


async def test_each_platform_reaches_postgresql_through_kafka(
    db: Database, pg_url: str, broker: Broker, topic: str
) -> None:
    await create_topic(broker.bootstrap, topic, partitions=2)
    settings = settings_for(
        pg_url, broker.bootstrap, kafka_intake_topic=topic, kafka_router_group=f"router-{topic}",
        wechat_token=wechat.TOKEN, wechat_encoding_aes_key=wechat.AES_KEY, wechat_app_id=wechat.APP_ID,
        weibo_app_secret=weibo.SECRET, twilio_auth_token=twilio.TOKEN,
        sms_aliyun_token=aliyun.TOKEN, sms_tencent_token=tencent.TOKEN,
    )
    crypto = WeChatCrypto(wechat.TOKEN, wechat.AES_KEY, wechat.APP_ID)
    expected: dict[str, str] = {}  # tracking number → text
    async with client_for(create_app(settings, roles=("gateway",))) as gw:
        stop = asyncio.Event()
        router = asyncio.create_task(run_router(settings, stop))
        try:
            # WeChat in safe mode (AES): a text and a voice message
            params, body = wechat.encrypted_push(
                wechat.push_xml("text", msg_id="1001", Content="塘厦镇工地夜间噪音扰民"), crypto)
            r = await wechat.post(gw, body, params)
            expected[_number(wechat.decrypt_reply(r.text, crypto).content)] = "塘厦镇工地夜间噪音扰民"
            params, body = wechat.encrypted_push(
                wechat.push_xml("voice", msg_id="1002", MediaId="m1", Format="amr",
                                Recognition="长安镇路灯坏了"), crypto)
            r = await wechat.post(gw, body, params)
            expected[_number(wechat.decrypt_reply(r.text, crypto).content)] = "长安镇路灯坏了"
            # Weibo
            r = await weibo.post(gw, weibo.push(text="举报厚街镇某工厂偷排废水"))
            expected[_number(weibo.reply_text(r))] = "举报厚街镇某工厂偷排废水"
            # Twilio-style SMS
            r = await twilio.send(gw, twilio.sms(body="请问社保怎么转移到东莞"))
            expected[_number(twilio.twiml_message(r) or "")] = "请问社保怎么转移到东莞"
            # Aliyun: two in one push
            r = await gw.post(aliyun.URL, json=[aliyun.uplink(1, "南城街道增设公交站的建议"),
                                                aliyun.uplink(2, "东城街道某小区电梯坏了")])
            assert r.json() == aliyun.RECEIVED
            numbers = r.headers["x-hotline-tracking-numbers"].split(",")
            expected.update(zip(numbers, ["南城街道增设公交站的建议", "东城街道某小区电梯坏了"], strict=True))
            # Tencent
            r = await gw.post(tencent.URL, json=tencent.callback(text="虎门镇噪音投诉"))
            assert r.json() == tencent.OK
            expected[r.headers["x-hotline-tracking-numbers"]] = "虎门镇噪音投诉"
            # and a WeChat retry: the same number, no second ticket
            params, body = wechat.encrypted_push(
                wechat.push_xml("text", msg_id="1001", Content="塘厦镇工地夜间噪音扰民"), crypto)
            r = await wechat.post(gw, body, params)
            assert _number(wechat.decrypt_reply(r.text, crypto).content) in expected

            async def all_in() -> bool:
                return len(await stored_by_number(db)) >= len(expected)

            await eventually(all_in, timeout=60)
            await asyncio.sleep(0.5)  # a duplicate would show up now
        finally:
            stop.set()
            await router

    stored = await stored_by_number(db)
    assert {n: t.text for n, t in stored.items()} == expected
    assert {t.channel for t in stored.values()} == {"wechat", "weibo", "sms"}
    assert {t.identity_kind for t in stored.values()} == {"phone", "wechat_openid", "weibo_uid"}


def _number(reply: str) -> str:
    """The tracking number inside an acknowledgement text ("已受理，您的工单编号 DG…。…")."""
    start = reply.index("DG")
    return reply[start:start + 14]
