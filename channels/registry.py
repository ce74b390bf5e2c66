"""Which adapters the gateway serves. A new channel is one module plus one line here."""

from __future__ import annotations

from hotline.channels.app import AppAdapter
from hotline.channels.base import ChannelAdapter
from hotline.channels.open311 import Open311Adapter
from hotline.channels.phone_cti import PhoneCtiAdapter
from hotline.channels.sms_aliyun import AliyunSmsAdapter
from hotline.channels.sms_tencent import TencentSmsAdapter
from hotline.channels.sms_twilio import TwilioSmsAdapter
from hotline.channels.web import WebAdapter
from hotline.channels.wechat import WeChatAdapter
from hotline.channels.weibo import WeiboAdapter

ADAPTERS: list[type[ChannelAdapter]] = [
    WebAdapter,
    WeChatAdapter,
    WeiboAdapter,
    TwilioSmsAdapter,
    AliyunSmsAdapter,
    TencentSmsAdapter,
    PhoneCtiAdapter,
    AppAdapter,
    Open311Adapter,
]
