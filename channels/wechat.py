"""WeChat official account (公众号): URL check, plain and safe-mode (AES) XML pushes, passive replies."""

from __future__ import annotations

import binascii
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import ValidationError
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from hotline.channels.base import BadPayload, InboundRequest, Parsed, Reply, Route, Unprocessable
from hotline.channels.signing import (
    require_params,
    require_secret,
    same_signature,
    url_check_echo,
    verify_sha1_push,
)
from hotline.channels.xml import parse_flat_xml
from hotline.intake.schema import (
    Attachment,
    Channel,
    Citizen,
    IdentityKind,
    IntakeMessage,
    Location,
    tracking_number_for,
)
from hotline.kit.clock import utcnow
from hotline.kit.errors import Forbidden
from hotline.kit.settings import Settings

ACK_TEXT = "已受理，您的工单编号 {numbers}。请保存编号，可凭编号查询办理进度。"
WELCOME_TEXT = ("您好，这里是12345政务服务便民热线。请直接发送您要咨询、求助、投诉、举报或建议的事项"
                "（可附图片、语音、位置），我们受理后会回复工单编号。")
# WeChat treats "success" (or an empty body) as "received, nothing to say".
NOTHING_TO_SAY = "success"


def _signature(*parts: str) -> str:
    """The signature wechatpy's `check_signature` computes, compared by the caller in constant time."""
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


class WeChatAdapter:
    name: ClassVar[str] = "wechat"
    routes: ClassVar[tuple[Route, ...]] = (Route("GET", "/channels/wechat"),
                                           Route("POST", "/channels/wechat"))

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.crypto: WeChatCrypto | None = None
        if settings.wechat_token and settings.wechat_encoding_aes_key:
            if not settings.wechat_app_id:
                raise ValueError("HOTLINE_WECHAT_ENCODING_AES_KEY is set but HOTLINE_WECHAT_APP_ID "
                                 "is not: safe mode needs both")
            try:
                self.crypto = WeChatCrypto(settings.wechat_token, settings.wechat_encoding_aes_key,
                                           settings.wechat_app_id)
            except (AssertionError, binascii.Error, ValueError) as exc:
                raise ValueError("HOTLINE_WECHAT_ENCODING_AES_KEY must be the 43-character key "
                                 "shown on the WeChat console") from exc

    def handle(self, request: InboundRequest) -> Parsed | Reply:
        token = require_secret(self.settings.wechat_token, "wechat", "HOTLINE_WECHAT_TOKEN")
        timestamp, nonce = verify_sha1_push(request.query, token, "WeChat", "HOTLINE_WECHAT_TOKEN", _signature)
        if request.method == "GET":
            return Reply(200, url_check_echo(request.query), "text/plain")

        envelope = parse_flat_xml(request.body)
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes" or (
            "Encrypt" in envelope and "MsgType" not in envelope)
        if not encrypted and self.crypto is not None:
            # In plain mode the signature does not cover the body: once safe mode is configured,
            # a plain push could be a captured signature replayed with a forged body.
            raise Forbidden("this account is in safe mode (HOTLINE_WECHAT_ENCODING_AES_KEY is set): "
                            "plain pushes are refused; set the account to safe or compatible mode")
        push = self._decrypt(envelope, request, timestamp, nonce) if encrypted else envelope
        try:
            return self._parse(push, encrypted, nonce)
        except ValidationError as exc:
            raise Unprocessable(f"the WeChat message has fields out of range: {exc}") from exc

    def _decrypt(self, envelope: dict[str, str], request: InboundRequest, timestamp: str,
                 nonce: str) -> dict[str, str]:
        if self.crypto is None:
            raise Forbidden("a safe-mode (AES) push arrived but HOTLINE_WECHAT_ENCODING_AES_KEY "
                            "and HOTLINE_WECHAT_APP_ID are not set")
        encrypt = envelope.get("Encrypt")
        if not encrypt:
            raise BadPayload("a safe-mode push must carry an <Encrypt> element")
        (msg_signature,) = require_params(request.query, "msg_signature")
        if not same_signature(_signature(self.crypto.token, timestamp, nonce, encrypt), msg_signature):
            raise Forbidden("the WeChat msg_signature does not match the encrypted body")
        try:
            plain = self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except InvalidAppIdException as exc:
            raise Forbidden("the encrypted message is addressed to another AppID: "
                            "check HOTLINE_WECHAT_APP_ID and HOTLINE_WECHAT_ENCODING_AES_KEY") from exc
        except InvalidSignatureException as exc:  # checked above; kept for safety
            raise Forbidden("the WeChat msg_signature does not match the encrypted body") from exc
        except Exception as exc:  # bad base64, bad padding, bad length prefix, not UTF-8
            raise BadPayload("the <Encrypt> element cannot be decrypted with our "
                             "EncodingAESKey") from exc
        return parse_flat_xml(plain.encode())

    def _replier(self, account: str, openid: str, encrypted: bool, nonce: str) -> Callable[[str], Reply]:
        def reply(content: str) -> Reply:
            xml = TextReply(source=account, target=openid, content=content).render()
            if encrypted:
                assert self.crypto is not None
                xml = self.crypto.encrypt_message(xml, nonce)
            return Reply(200, xml, "application/xml")
        return reply

    def _parse(self, push: dict[str, str], encrypted: bool, nonce: str) -> Parsed | Reply:
        openid = push.get("FromUserName", "")
        account = push.get("ToUserName", "")
        kind = push.get("MsgType", "").lower()
        if not openid or not kind:
            raise BadPayload("a WeChat push needs FromUserName and MsgType")
        reply = self._replier(account, openid, encrypted, nonce)
        ignored = Reply(200, NOTHING_TO_SAY, "text/plain")

        if kind == "event":
            # Subscribe/unsubscribe/menu/scan/location reports are not tickets (not 工单).
            event = push.get("Event", "").lower()
            ignored.headers["X-Hotline-Ignored"] = f"event {event or '?'}"
            return reply(WELCOME_TEXT) if event == "subscribe" else ignored

        text = ""
        location: Location | None = None
        attachments: list[Attachment] = []
        extra: dict[str, object] = {}
        if kind == "text":
            text = push.get("Content", "").strip()
            if not text:
                ignored.headers["X-Hotline-Ignored"] = "empty text"
                return ignored
        elif kind == "image":
            attachments.append(Attachment(kind="image", url=push.get("PicUrl") or None,
                                          media_id=push.get("MediaId") or None))
        elif kind == "voice":
            text = push.get("Recognition", "").strip()  # WeChat's speech-to-text, when enabled
            attachments.append(Attachment(kind="voice", media_id=push.get("MediaId") or None,
                                          content_type=push.get("Format") or None, text=text or None))
        elif kind in ("video", "shortvideo"):
            kind = "video"
            attachments.append(Attachment(kind="video", media_id=push.get("MediaId") or None))
            extra["thumb_media_id"] = push.get("ThumbMediaId") or None
        elif kind == "location":
            try:
                lat, lng = float(push["Location_X"]), float(push["Location_Y"])
            except (KeyError, ValueError) as exc:
                raise BadPayload("a location message needs numeric Location_X and Location_Y") from exc
            label = push.get("Label") or None
            location = Location(lat=lat, lng=lng, address=label, label=label)
            extra["scale"] = push.get("Scale") or None
        elif kind == "link":
            attachments.append(Attachment(kind="link", url=push.get("Url") or None,
                                          title=push.get("Title") or None,
                                          text=push.get("Description") or None))
        else:
            ignored.headers["X-Hotline-Ignored"] = f"message type {kind}"
            return ignored

        created = push.get("CreateTime", "")
        # WeChat re-sends a push it got no answer to with the same MsgId.
        external_id = push.get("MsgId") or f"{openid}:{created}"
        try:
            sent_at = datetime.fromtimestamp(int(created), UTC).isoformat() if created else None
            msg = IntakeMessage(
                channel=Channel.WECHAT,
                external_id=external_id,
                tracking_number=tracking_number_for(Channel.WECHAT, external_id,
                                                    self.settings.tracking_prefix),
                citizen=Citizen(identity_kind=IdentityKind.WECHAT_OPENID, identity=openid),
                text=text,
                location=location,
                attachments=attachments,
                received_at=utcnow(),
                raw=push,
                meta={"message_kind": kind, "account": account, "sent_at": sent_at,
                      "encrypted": encrypted, **extra},
            )
        except (ValidationError, ValueError, OverflowError) as exc:
            raise Unprocessable(f"the WeChat {kind} message has fields out of range: {exc}") from exc
        return Parsed([msg], ack=lambda tns: reply(ACK_TEXT.format(numbers="、".join(tns))))
