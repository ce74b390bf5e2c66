"""Signed webhook requests as the platforms send them (WeChat AES, Twilio SMS, web form, app)."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, random_string

from hotline.channels.app_keys import app_key_digest, new_app_key

WECHAT_TOKEN = "bench-wechat-token"
WECHAT_AES_KEY = base64.b64encode(os.urandom(32)).decode().rstrip("=")
WECHAT_APP_ID = "wxbench0000000001"
TWILIO_TOKEN = "bench-twilio-token"
SECRET_KEY = "bench-secret-key-not-for-production"
APP_KEY = new_app_key()

TEXTS = ["投诉塘厦镇某工地夜间施工噪音扰民", "请问社保怎么转移到东莞", "长安镇某路段路灯坏了很久没人修",
         "举报厚街镇某工厂偷排废水", "建议南城街道增设公交站", "虎门镇某小区物业乱收停车费",
         "东城街道某餐馆食品卫生差", "常平镇某公司拖欠工资三个月"]


def gateway_env() -> dict[str, str]:
    return {
        "HOTLINE_WECHAT_TOKEN": WECHAT_TOKEN, "HOTLINE_WECHAT_ENCODING_AES_KEY": WECHAT_AES_KEY,
        "HOTLINE_WECHAT_APP_ID": WECHAT_APP_ID, "HOTLINE_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "HOTLINE_SECRET_KEY": SECRET_KEY,
        "HOTLINE_APP_KEYS": f"bench:{app_key_digest(SECRET_KEY, APP_KEY)}",
        "HOTLINE_WEB_RATE_LIMIT_PER_MINUTE": "100000000",
        # The load comes from one address: lift the per-address limit on public intake.
        "HOTLINE_PUBLIC_RATE_LIMIT_PER_IP_PER_MINUTE": "100000000",
    }


@dataclass
class Req:
    key: str  # channel:external_id, for accounting
    method: str
    path: str
    headers: dict[str, str]
    body: str


def _twilio_signature(url: str, params: dict[str, str]) -> str:
    import hashlib
    import hmac

    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(TWILIO_TOKEN.encode(), data.encode(), hashlib.sha1).digest()).decode()


def build(i: int, run: str, base_url: str, crypto: WeChatCrypto) -> Req:
    text = f"{TEXTS[i % len(TEXTS)]}（{run}-{i}）"
    kind = i % 4
    if kind == 0:  # WeChat safe mode (AES)
        ts, nonce = str(int(time.time())), random_string(10)
        msg_id = f"{abs(hash(run)) % 10**8}{i:010d}"
        xml = (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[o{run}{i % 5000}]]>"
               f"</FromUserName><CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
        enc = crypto.encrypt_message(xml, nonce, ts)
        encrypt = enc.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        msig = enc.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        signer = WeChatSigner()
        signer.add_data(WECHAT_TOKEN, ts, nonce)
        q = urlencode({"signature": signer.signature, "timestamp": ts, "nonce": nonce,
                       "encrypt_type": "aes", "msg_signature": msig})
        body = f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return Req(f"wechat:{msg_id}", "POST", f"/channels/wechat?{q}", {"Content-Type": "text/xml"}, body)
    if kind == 1:  # SMS, Twilio-style
        sid = f"SM{run}{i:020d}"[:34]
        params = {"MessageSid": sid, "AccountSid": "ACbench", "From": f"+86138{i % 10**8:08d}",
                  "To": "+8612345", "Body": text, "NumMedia": "0"}
        sig = _twilio_signature(f"{base_url}/channels/sms/twilio", params)
        return Req(f"sms:twilio:{sid}", "POST", "/channels/sms/twilio",
                   {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig},
                   urlencode(params))
    cid = f"{run}-{i}"
    if kind == 2:  # web form
        body = json.dumps({"phone": f"139{i % 10**8:08d}", "text": text, "client_message_id": cid},
                          ensure_ascii=False)
        return Req(f"web:{cid}", "POST", "/channels/web", {"Content-Type": "application/json"}, body)
    body = json.dumps({"phone": f"137{i % 10**8:08d}", "text": text, "client_message_id": cid},
                      ensure_ascii=False)
    return Req(f"app:bench:{cid}", "POST", "/channels/app",
               {"Content-Type": "application/json", "X-Hotline-App-Key": APP_KEY}, body)


def build_many(n: int, run: str, base_url: str) -> list[dict]:
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)
    return [asdict(build(i, run, base_url, crypto)) for i in range(n)]
