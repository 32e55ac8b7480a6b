"""Web Push on the wire: payloads, VAPID headers, encryption (pywebpush) and HTTP (aiohttp)."""

import asyncio
import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPusher

log = logging.getLogger("tandem.push")

# Every plaintext is padded to this size, so the push service sees one length for every
# message (it sees the encrypted length); under the 3 KB the spec allows.
PAYLOAD_SIZE = 2048
NEUTRAL = "Something is waiting for you in Tandem"
# What a user who turned discretion off may read: still no names, titles or anything intimate.
DESCRIPTIVE = {
    "reminder": "A reminder: this week's plan still has something for you.",
    "plan_published": "Your plan for the week is ready.",
    "joint_session_logged": "Your partner logged a session together — confirm it?",
    "session_confirmed": "Your partner confirmed the session you logged.",
    "partner_left": "Someone has left your couple in Tandem.",
    "appointment": "Something to prepare for tomorrow: your next appointment.",
    "measure_due": "A short questionnaire from your therapist is waiting for you.",
    "test": "Test notification: reminders reach this device.",
    "slot": "Soon: the time you set aside for this week's plan.",
    "slot_proposed": "Your partner suggested a time to practise.",
    "nudge": "Your partner is thinking of you",
}
# A discreet text that still says what to do; it names nothing (the issue asks for this one).
DISCREET = {"appointment": "Something to prepare for tomorrow"}
VAPID_LIFETIME = 12 * 60 * 60
# The status recorded for an endpoint refused before sending (not an allowed push service):
# not delivered, not retried, counted against the subscription.
NOT_ALLOWED = 421
VAPID_RENEW_BEFORE = 60 * 60


def topic(notification_id: uuid.UUID) -> str:
    """The same for every send of one notification: a resend replaces a copy still queued."""
    digest = hashlib.sha256(str(notification_id).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def build_payload(
    *, notification_id: uuid.UUID, kind: str, data: dict[str, Any], discreet: bool
) -> bytes:
    message: dict[str, Any] = {
        "id": str(notification_id),
        "kind": kind,
        "title": "Tandem",
        "body": DISCREET.get(kind, NEUTRAL) if discreet else DESCRIPTIVE.get(kind, NEUTRAL),
        "url": data.get("url", "/"),
    }
    for key in ("session_id", "plan_id", "action_token"):
        if key in data:
            message[key] = data[key]
    if "actions" in data:  # reminders: Done / In 1 hour / Tonight (reminders/actions.py)
        message["actions"] = data["actions"]
    elif kind == "joint_session_logged":
        message["actions"] = [
            {"action": "confirm", "title": "Confirm"},
            {"action": "open", "title": "Open"},
        ]
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=True).encode()
    if len(text) > PAYLOAD_SIZE:
        raise ValueError("push payload larger than its fixed size")
    # Trailing spaces are JSON whitespace: `event.data.json()` reads the padded text as is.
    return text.ljust(PAYLOAD_SIZE, b" ")


def load_vapid(material: str) -> Vapid:
    if "-----BEGIN" in material:
        return Vapid.from_pem(material.encode())
    return Vapid.from_string(material)


def vapid_public_key(vapid: Vapid) -> str:
    point = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


class VapidHeaders:
    """One signed VAPID header per push-service origin, reused until shortly before it expires
    (signing is a third of the cost of a push)."""

    def __init__(self, vapid: Vapid, subject: str) -> None:
        self.vapid = vapid
        self.subject = subject
        self._cache: dict[str, tuple[str, float]] = {}

    def authorization(self, origin: str) -> str:
        now = time.time()
        cached = self._cache.get(origin)
        if cached and cached[1] - now > VAPID_RENEW_BEFORE:
            return cached[0]
        expires = int(now) + VAPID_LIFETIME
        # A fresh dict per signing: pywebpush and py_vapid write into the claims they get.
        claims = {"sub": self.subject, "aud": origin, "exp": expires}
        header: str = self.vapid.sign(claims)["Authorization"]
        self._cache[origin] = (header, expires)
        return header


@dataclass(frozen=True)
class Job:
    notification_id: uuid.UUID
    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int
    urgency: str


@dataclass(frozen=True)
class Result:
    job: Job
    status: int  # 0: no answer (timeout, connection error)
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status in (404, 410)

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


def origin_of(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class Sender:
    """Encrypts with pywebpush and posts over one kept-alive aiohttp session, many in flight.

    Lives in one event loop (the worker's); `close()` before the loop ends.
    """

    def __init__(
        self,
        vapid: Vapid,
        subject: str,
        *,
        concurrency: int = 64,
        timeout: float = 10.0,
        endpoint_allowed: Callable[[str], bool] = lambda _endpoint: True,
    ) -> None:
        self.headers = VapidHeaders(vapid, subject)
        # Checked again at send time: the allow-list may have shrunk since the subscription.
        self.endpoint_allowed = endpoint_allowed
        self.concurrency = concurrency
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.concurrency, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # Push endpoints never set cookies worth keeping, and none should be sent back.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send_many(self, jobs: list[Job]) -> list[Result]:
        client = await self._client()
        results: list[Result | None] = [None] * len(jobs)
        queue = iter(range(len(jobs)))

        # A fixed set of senders pulling from one queue: as many requests in flight as the
        # connection pool holds, without a task per message.
        async def drain() -> None:
            for index in queue:
                results[index] = await self.send(client, jobs[index])

        await asyncio.gather(*(drain() for _ in range(min(self.concurrency, len(jobs)))))
        return [r for r in results if r is not None]

    async def send(self, client: aiohttp.ClientSession, job: Job) -> Result:
        origin = origin_of(job.endpoint)
        if not self.endpoint_allowed(job.endpoint):
            log.warning("push %s to %s: not an allowed push service", job.notification_id, origin)
            return Result(job, NOT_ALLOWED)
        subscription = {"endpoint": job.endpoint, "keys": {"p256dh": job.p256dh, "auth": job.auth}}
        try:
            body = WebPusher(subscription).encode(job.payload, "aes128gcm")["body"]
        except Exception as exc:  # bad key material stored before validation existed
            log.warning("push %s: cannot encrypt (%s)", job.notification_id, type(exc).__name__)
            return Result(job, 400)
        headers = {
            "Authorization": self.headers.authorization(origin),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(job.ttl),
            "Urgency": job.urgency,
            "Topic": topic(job.notification_id),
        }
        try:
            # Never follow a redirect: a push service answering 3xx could send the payload, and
            # our VAPID signature, anywhere it names. A 3xx is a failed delivery.
            async with client.post(
                job.endpoint, data=body, headers=headers, allow_redirects=False
            ) as response:
                await response.read()
                status = response.status
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            log.info(
                "push %s to %s: no answer (%s)", job.notification_id, origin, type(exc).__name__
            )
            return Result(job, 0)
        if not 200 <= status < 300:
            # Origin and status only: the endpoint path is a capability, the payload private.
            log.info("push %s to %s: HTTP %s", job.notification_id, origin, status)
        return Result(job, status, retry_after)
