"""The tokens topic from the command line: write a token's record, read them all."""

from __future__ import annotations

from pts.core.kafka import CheckedProducer
from pts.core.settings import Settings
from pts.core.topics import topic_name
from pts.gateway.tokens import TokenBook, TokenRecord
from pts.gateway.topic_views import TokenView


def save_token(settings: Settings, record: TokenRecord) -> None:
    """Write `record` to the tokens topic and wait until it landed (BrokerUnavailable)."""
    producer = CheckedProducer(settings)
    producer.produce(topic_name(settings, "gateway-tokens"), record.token_id, record.to_json())
    producer.flush()


def read_tokens(settings: Settings) -> TokenBook:
    """Every token the topic holds (revoked ones too)."""
    tokens = TokenView(settings)
    try:
        tokens.view.start(settings.record_timeout_s)
        tokens.view.catch_up(settings.record_timeout_s)
    finally:
        tokens.view.close()
    return tokens.book
