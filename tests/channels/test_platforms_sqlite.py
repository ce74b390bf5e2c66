"""The embedded default (`make run`): platform messages become tickets on SQLite, no broker."""

from __future__ import annotations

from wechatpy.crypto import WeChatCrypto

from hotline.api.app import create_app
from hotline.kit.db import Database
from tests.channels import test_sms_aliyun as aliyun
from tests.channels import test_sms_twilio as twilio
from tests.channels import test_wechat as wechat
from tests.channels import test_weibo as weibo
from tests.channels.stored import stored_by_number
from tests.conftest import client_for, settings_for


async def test_platform_messages_become_tickets_on_sqlite(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, wechat_token=wechat.TOKEN, wechat_encoding_aes_key=wechat.AES_KEY,
                            wechat_app_id=wechat.APP_ID, weibo_app_secret=weibo.SECRET,
                            twilio_auth_token=twilio.TOKEN, sms_aliyun_token=aliyun.TOKEN)
    crypto = WeChatCrypto(wechat.TOKEN, wechat.AES_KEY, wechat.APP_ID)
    async with client_for(create_app(settings)) as c:
        params, body = wechat.encrypted_push(
            wechat.push_xml("location", msg_id="555", Location_X="22.82", Location_Y="113.67",
                            Label="东莞市虎门镇"), crypto)
        wx = wechat.decrypt_reply((await wechat.post(c, body, params)).text, crypto).content
        wb = weibo.reply_text(await weibo.post(c, weibo.push(text="请问社保怎么转移到东莞")))
        tw = twilio.twiml_message(await twilio.send(c, twilio.sms(body="长安镇路灯坏了"))) or ""
        r = await c.post(aliyun.URL, json=[aliyun.uplink(7, "东城街道噪音"), aliyun.uplink(8, "南城街道路灯")])
        assert r.json() == aliyun.RECEIVED
        again = await c.post(aliyun.URL, json=[aliyun.uplink(7, "东城街道噪音")])
        assert again.json() == aliyun.RECEIVED
    db = Database(sqlite_url)
    try:
        stored = await stored_by_number(db)
    finally:
        await db.dispose()
    assert len(stored) == 5
    by_text = {t.text: n for n, t in stored.items()}
    assert by_text["请问社保怎么转移到东莞"] in wb and by_text["长安镇路灯坏了"] in tw
    [location] = [t for t in stored.values() if t.channel == "wechat"]
    assert location.tracking_number in wx
    assert (location.lat, location.lng) == (22.82, 113.67)
    assert location.intake["meta"]["message_kind"] == "location"
