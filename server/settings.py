"""Settings from the command line and ``BRANCHQ_*`` environment variables."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BRANCHQ_", extra="ignore")

    database: str = Field(
        default="sqlite:///var/branchq.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str | None = Field(
        default=None,
        description="32 url-safe base64 bytes for the session cookie; generated into var/ when unset",
    )
    secret_file: str = "var/secret.key"
    demo: bool = False
    max_body_bytes: int = 64 * 1024
    session_max_age_s: int = 12 * 3600
    cookie_secure: bool = False
    pool_size: int = 10
    trusted_origins: list[str] = Field(default_factory=list)
    issue_rate_limit: str = Field(
        default="10/second;60/minute",
        description="per kiosk: a burst, then a steady rate (never applies to signed-in staff)",
    )
    public_rate_limit: str = Field(
        default="20/second;300/minute", description="per client address, on public endpoints"
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="uvloop where installed (Linux, macOS), else asyncio's own loop",
    )
