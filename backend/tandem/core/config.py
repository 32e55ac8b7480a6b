"""One Settings class: every `TANDEM_*` variable, with defaults that work on a laptop."""

import base64
import contextlib
import os
import re
import secrets
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The push services browsers use today; a leading dot also admits subdomains.
DEFAULT_PUSH_HOSTS = ",".join(
    [
        "fcm.googleapis.com",
        "android.googleapis.com",
        "updates.push.services.mozilla.com",
        ".push.services.mozilla.com",
        "web.push.apple.com",
        ".notify.windows.com",
    ]
)

# Shown at once to a person whose questionnaire answer suggests risk (PHQ-9 item 9, or a
# custom measure's risk item). Operators set their region's services; items are separated by
# "|". The first line is the one that matters everywhere.
DEFAULT_CRISIS_RESOURCES = " | ".join(
    [
        "If you are in danger now, call your local emergency number "
        "(112 in Europe, 911 in the US and Canada, 999 in the UK, 000 in Australia).",
        "If you are thinking about suicide or about hurting yourself, you can talk to someone "
        "now, free and in confidence: in the US call or text 988; in the UK and Ireland call "
        "Samaritans on 116 123; elsewhere, findahelpline.com lists the lines in your country.",
        "If you can, tell someone you trust how you are feeling, and stay with them.",
        "Your therapist will see that this answer needs attention, but may not see it right "
        "away: if you need help now, use the numbers above.",
    ]
)

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "changethis", "please-change-me"}


class Settings(BaseSettings):
    # Errors never repeat the value given: it may be a key.
    model_config = SettingsConfigDict(
        env_prefix="TANDEM_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    data_dir: Path = Path("./data")
    database_url: str | None = None
    secret_key: str | None = None
    encryption_key: str | None = None
    vapid_private_key: str | None = None
    vapid_subject: str = "mailto:operator@localhost"
    push_allowed_hosts: str = DEFAULT_PUSH_HOSTS
    push_allow_insecure: bool = False
    allow_therapist_signup: bool = True
    open_signup: bool = True
    trusted_proxies: str = ""
    metrics_token: str | None = None
    base_url: str = "http://localhost:8000"
    hash_cost: Literal["standard", "low"] = "standard"
    docs_enabled: bool = True
    access_token_minutes: int = 15
    refresh_grace_seconds: int = 10
    # Refresh families end after this long without use, and after this long in any case;
    # a therapist's device holds several couples' data, so it lives shorter.
    session_idle_days: int = 14
    session_absolute_days: int = 60
    therapist_session_idle_hours: int = 12
    therapist_session_absolute_days: int = 7
    max_body_bytes: int = 256 * 1024
    # Practice single sign-on (OpenID Connect) for therapists; off unless all three are set.
    sso_issuer: str | None = None
    sso_client_id: str | None = None
    sso_client_secret: str | None = None
    sso_allowed_domains: str = ""
    # The provider verifies every email it hands out, even when its tokens omit
    # `email_verified` (a practice's own directory); otherwise that claim must say true.
    sso_trust_email: bool = False
    log_level: str = "INFO"
    # auto: readable lines on a terminal, JSON lines otherwise (log collectors); or text, json.
    log_format: Literal["auto", "text", "json"] = "auto"
    crisis_resources: str = DEFAULT_CRISIS_RESOURCES

    @field_validator("secret_key", "encryption_key")
    @classmethod
    def _base64url_key(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None  # unset (an empty line in .env too): generated into the data directory
        assert info.field_name is not None  # a field validator always knows its field
        raw = _key_bytes(value, f"TANDEM_{info.field_name.upper()}")
        if info.field_name == "encryption_key" and len(raw) != 32:
            raise ValueError("TANDEM_ENCRYPTION_KEY must be exactly 32 bytes, base64url encoded")
        return value.strip()

    @field_validator("access_token_minutes")
    @classmethod
    def _short_lived(cls, value: int) -> int:
        if not 1 <= value <= 15:
            raise ValueError("access tokens live between 1 and 15 minutes")
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.is_https:
            if self.hash_cost == "low":
                raise ValueError("TANDEM_HASH_COST=low is for test suites, not an https deployment")
            issuer = (self.sso_issuer or "").lower()
            if issuer and not issuer.startswith("https://"):
                raise ValueError("TANDEM_SSO_ISSUER must be an https URL on an https deployment")
            for name in ("secret_key", "encryption_key"):
                value = getattr(self, name)
                if value is not None and (value.lower() in PLACEHOLDER_SECRETS or len(value) < 32):
                    raise ValueError(f"TANDEM_{name.upper()} looks like a placeholder")
        return self

    @property
    def crisis_resource_list(self) -> list[str]:
        found = [part.strip() for part in self.crisis_resources.split("|") if part.strip()]
        return found or [p.strip() for p in DEFAULT_CRISIS_RESOURCES.split("|")]

    @property
    def is_https(self) -> bool:
        return self.base_url.lower().startswith("https://")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.sso_issuer and self.sso_client_id and self.sso_client_secret)

    @property
    def sso_domain_list(self) -> set[str]:
        return {
            d.strip().lower().lstrip("@") for d in self.sso_allowed_domains.split(",") if d.strip()
        }

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'tandem.db'}"

    @property
    def trusted_proxy_list(self) -> set[str]:
        return {p.strip() for p in self.trusted_proxies.split(",") if p.strip()}

    @property
    def push_host_list(self) -> list[str]:
        return [h.strip().lower() for h in self.push_allowed_hosts.split(",") if h.strip()]

    @cached_property
    def signing_key(self) -> bytes:
        if self.secret_key:
            return _key_bytes(self.secret_key, "TANDEM_SECRET_KEY")
        return self._generated("secret.key")

    @cached_property
    def key_encryption_key(self) -> bytes:
        if self.encryption_key:
            key = _key_bytes(self.encryption_key, "TANDEM_ENCRYPTION_KEY")
        else:
            key = self._generated("encryption.key")
        if len(key) != 32:
            raise ValueError("TANDEM_ENCRYPTION_KEY must be 32 bytes, base64url encoded")
        return key

    @cached_property
    def vapid_key(self) -> str:
        """The Web Push identity: a PEM, or a raw 32-byte key in base64url, from settings or
        generated once into the data directory."""
        if self.vapid_private_key:
            return self.vapid_private_key.strip()
        return create_once(self.data_dir / "vapid.pem", _new_vapid_pem).decode()

    def ensure_keys(self) -> None:
        """Create missing generated keys now (first start, `tandem migrate`), not mid-request."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _ = self.signing_key, self.key_encryption_key, self.vapid_key

    def _generated(self, name: str) -> bytes:
        path = self.data_dir / name
        return base64.urlsafe_b64decode(
            create_once(path, lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)))
        )


def _new_vapid_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


def _key_bytes(value: str, name: str = "the key") -> bytes:
    """A key given in the environment: base64url of at least 32 random bytes, nothing else
    (text taken as the key itself would be a weak key nobody chose knowingly)."""
    value = value.strip()
    raw = b""
    if _BASE64URL.fullmatch(value):
        with contextlib.suppress(ValueError):
            raw = base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    if len(raw) < 32:
        raise ValueError(
            f"{name} must be base64url of at least 32 random bytes, for example the output of "
            'python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return raw


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """Create a key file if absent (mode 0600), then re-read it.

    Several processes may start together on one data directory: the content is written to a
    private temporary file and hard-linked into place, which fails when the name exists, so
    exactly one process wins and every process reads the same key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()
