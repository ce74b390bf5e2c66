"""The one settings class; every value comes from an environment variable prefixed HOTLINE_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_file=".env", extra="ignore")

    environment: str = Field("development", description="development | test | production")
    database_url: str = "sqlite+aiosqlite:///./hotline.db"
    database_pool_size: int = 10

    # Kafka. Unset bootstrap = embedded mode: the router runs in-process, no broker.
    kafka_bootstrap: str | None = None
    kafka_intake_topic: str = "hotline.intake"
    kafka_events_topic: str = "hotline.ticket-events"
    kafka_router_group: str = "hotline-router"
    kafka_enable_idempotence: bool = True  # Apache Kafka: on; tansu (tests) does not support it
    kafka_linger_ms: int = 5
    kafka_compression: str | None = None
    # Messages per router batch (one transaction). 1,000 against 500: router alone 1,224 → 1,445
    # tickets/s (mean of 3–4 runs each), 346 MB resident with both models; batches only fill at load.
    kafka_batch_max: int = 1000
    # How long a router's fetch may wait at the broker for new records. On tansu aiokafka's 500 ms
    # default delayed a record by 135 ms (median; 250 max), 20 ms by 6; Apache Kafka answers early.
    kafka_fetch_max_wait_ms: int = 20

    # Where the gateway keeps messages the broker could not take yet (durable spool).
    spool_path: Path = Path("./var/spool.db")
    # A message Kafka has not acknowledged within this many seconds goes to the spool instead.
    spool_after_seconds: float = 2.0

    timezone: str = "Asia/Shanghai"
    # SLA (src/hotline/sla): the centre's holiday file for years chinesecalendar does not know,
    # optional business hours ("08:30-12:00,14:00-17:30"; unset = whole working days count).
    holiday_file: Path | None = None
    business_hours: str | None = None
    sla_policy_file: Path | None = None  # unset = the packaged defaults (sla/data/policies.json)
    sla_warning_share: float = Field(0.8, gt=0, lt=1)  # warn when this share of a clock is used
    sla_monitor_interval_seconds: float = 60.0
    # Outbound notifications (src/hotline/notify/senders.py).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_sender: str = "12345@hotline.invalid"
    sms_api_url: str | None = None  # POST {"to","text"} to the SMS provider
    sms_api_token: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_access_token: str | None = None
    wechat_app_secret: str | None = None  # fetches the access token when it is not given
    weibo_api_base: str = "https://api.weibo.com"
    weibo_access_token: str | None = None
    notify_timeout_seconds: float = 10.0
    tracking_prefix: str = "DG"
    max_body_bytes: int = 256 * 1024
    model_dir: Path = Path("./models")
    # The shared training data (`hotline train --target type` joins the shipped labels with it).
    shared_data_dir: Path = Path("../shared/data")
    # Smart dispatch (src/hotline/routing): dispatch automatically at or above this confidence,
    # otherwise the manual queue (待派单) with suggestions; the catalogue is re-read this often.
    dispatch_confidence_threshold: float = Field(0.6, ge=0, le=1)
    catalogue_refresh_seconds: float = 30.0
    # Duplicates (并单) and hot issues: look back this far; similarity is character-bigram overlap.
    duplicate_window_hours: float = 72.0
    duplicate_similarity: float = Field(0.6, gt=0, le=1)
    hot_issue_window_hours: float = 168.0
    hot_issue_similarity: float = Field(0.2, gt=0, le=1)
    hot_issue_min_tickets: int = 3

    # Channel secrets (see README "Configuration").
    wechat_token: str | None = None
    wechat_encoding_aes_key: str | None = None
    wechat_app_id: str | None = None
    weibo_app_secret: str | None = None
    twilio_auth_token: str | None = None
    sms_aliyun_token: str | None = None
    sms_tencent_token: str | None = None
    cti_token: str | None = None
    # Mobile app / Open311 keys: comma-separated `name:hexdigest` (HMAC-SHA256 with secret_key),
    # printed by `hotline app-key create --name NAME`; the gateway needs no database to check them.
    app_keys: str = ""
    open311_services_path: Path | None = None  # unset: the default list shipped with hotline

    web_rate_limit_per_minute: int = 30
    public_rate_limit_per_ip_per_minute: int = 600  # web form and Open311, per client address
    # Self-service (自助答复): answer a consultation from the knowledge base when the best article
    # beats the next by this margin (0..1); unset = off. 0.25 gave precision >= 0.95 on held-out
    # real messages (bench/knowledge_bench.py).
    self_service_threshold: float | None = 0.25
    log_json: bool = False
    log_level: str = "INFO"

    # Operations (deploy/, docs/operations.md): metrics, tracing, readiness.
    metrics_enabled: bool = True  # /metrics on the api and gateway processes
    metrics_cache_seconds: float = 15.0  # database-backed gauges are re-queried at most this often
    router_metrics_port: int = 9100  # the router's Prometheus endpoint; 0 = off
    otel_enabled: bool = False  # OpenTelemetry spans (needs the `otel` extra)
    otel_service_name: str | None = None  # default: hotline-<process>
    otel_exporter_endpoint: str | None = None  # OTLP/HTTP collector, e.g. http://otel:4318

    # Outbox relay (ticket events to Kafka, notifications): poll interval and retry backoff.
    outbox_poll_seconds: float = 0.5
    outbox_backoff_base_seconds: float = 1.0
    outbox_backoff_max_seconds: float = 600.0
    # Lifecycle: the longest extension (延期) a unit may ask for, in working days.
    extension_max_working_days: int = 10

    secret_key: str = DEV_SECRET
    console_session_hours: int = 12  # a console login's token lives this long
    login_attempts_per_minute: int = 10  # per name and per client address (429 beyond)

    @property
    def embedded(self) -> bool:
        return not self.kafka_bootstrap

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError("HOTLINE_SECRET_KEY must be set to a real secret in production")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
