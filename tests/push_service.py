"""A local Web Push service for tests and benchmarks.

It speaks enough of RFC 8030 (HTTP Web Push) for an application server to talk to it, and it checks
what a real push service and a real browser would check before a notification reaches a phone:

* the push service's side: ``TTL``, ``Content-Encoding: aes128gcm``, ``Urgency``, ``Topic``, the
  4096-byte body limit, and VAPID (RFC 8292) with an ES256 signature, ``aud``, ``exp`` and ``sub``;
* the browser's side: the body is decrypted per RFC 8291 with the subscription's private key and
  auth secret, so a test sees the exact plaintext a service worker would get.

Usage::

    with PushService() as service:
        subscription = service.new_subscription()   # what PushSubscription.toJSON() gives
        ...  # the code under test sends a push to subscription["endpoint"]
        [delivery] = service.wait_for(1, timeout=5)
        assert delivery.plaintext == b"..."

The server is uvicorn running a small ASGI app in a background thread, on 127.0.0.1 and a free port,
with HTTP/1.1 keep-alive. Nothing but loopback is used.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import re
import secrets
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import Connection
from typing import Any

import http_ece
import uvicorn
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

# Push services accept at least 4096 bytes of encrypted payload (RFC 8030 section 7.2) and the big
# ones (FCM, Mozilla autopush) refuse anything larger with 413.
MAX_BODY_BYTES = 4096
# RFC 8292 section 2: a push service may reject a token whose exp is more than 24 hours away.
MAX_VAPID_LIFETIME = 24 * 60 * 60
URGENCIES = ("very-low", "low", "normal", "high")

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TTL = re.compile(r"[0-9]{1,10}")
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")
_PUSH_PATH = re.compile(r"/push/([A-Za-z0-9_-]+)")


def b64url_encode(data: bytes) -> str:
    """Base64url without padding, as browsers and JWTs write it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding: anything else is a malformed request."""
    if not _B64URL.fullmatch(text):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc


# --------------------------------------------------------------------------------------------------
# Subscription keys (the browser's side)


@dataclass(frozen=True)
class SubscriptionKeys:
    """The keys a browser creates for one push subscription (RFC 8291 section 2)."""

    private_key: ec.EllipticCurvePrivateKey
    auth_secret: bytes

    @property
    def public_key_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @property
    def p256dh(self) -> str:
        return b64url_encode(self.public_key_bytes)

    @property
    def auth(self) -> str:
        return b64url_encode(self.auth_secret)


def make_subscription_keys() -> SubscriptionKeys:
    """A fresh P-256 key pair and 16-byte auth secret, made the way a browser makes them."""
    return SubscriptionKeys(ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16))


def decrypt_push(body: bytes, keys: SubscriptionKeys) -> bytes:
    """Decrypt an aes128gcm push message as the browser holding ``keys`` would (RFC 8291).

    Raises ValueError with the reason when the message would be dropped.
    """
    # The aes128gcm header (RFC 8188 section 2.1): salt(16) rs(4) idlen(1) keyid(idlen).
    if len(body) < 21:
        raise ValueError("body shorter than the aes128gcm header")
    record_size = struct.unpack("!L", body[16:20])[0]
    id_len = body[20]
    # RFC 8291 section 4: the keyid is the sender's ephemeral public key, uncompressed (65 bytes).
    if id_len != 65 or len(body) < 21 + 65 or body[21] != 0x04:
        raise ValueError("aes128gcm keyid is not an uncompressed P-256 point")
    if record_size < 18:
        raise ValueError(f"aes128gcm record size {record_size} is below the minimum of 18")
    ciphertext = body[21 + id_len :]
    # RFC 8291 section 4: a push message is a single record, and browsers only handle one.
    if len(ciphertext) > record_size:
        raise ValueError("push message has more than one record")
    if len(ciphertext) < 17:
        raise ValueError("ciphertext shorter than the tag and the padding delimiter")
    # Receiving side of RFC 8291: our private key and auth secret; without ``dh`` http_ece takes
    # the sender's public key from the header's keyid.
    try:
        return http_ece.decrypt(
            body,
            private_key=keys.private_key,
            auth_secret=keys.auth_secret,
            version="aes128gcm",
        )
    except Exception as exc:  # http_ece raises ECEException, cryptography ValueError
        raise ValueError(f"decryption failed: {getattr(exc, 'message', exc)}") from exc


# --------------------------------------------------------------------------------------------------
# VAPID (the push service's side)


class VapidError(Exception):
    """A VAPID check failed; ``status`` is what a push service would answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# Parsing a public key validates the point, which costs more than the lookup; senders reuse one key.
_public_key_cache: dict[str, ec.EllipticCurvePublicKey] = {}


def _vapid_public_key(k: str) -> ec.EllipticCurvePublicKey:
    key = _public_key_cache.get(k)
    if key is None:
        try:
            raw = b64url_decode(k)
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except ValueError as exc:
            raise VapidError(401, "VAPID k is not a base64url P-256 public key") from exc
        if len(raw) != 65:
            raise VapidError(401, "VAPID k is not an uncompressed P-256 point")
        if len(_public_key_cache) > 1000:
            _public_key_cache.clear()
        _public_key_cache[k] = key
    return key


def parse_vapid_authorization(header: str) -> tuple[str, str]:
    """Split ``vapid t=<jwt>, k=<key>`` (RFC 8292 section 3) into (token, key)."""
    scheme, _, params = header.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise VapidError(401, f"Authorization scheme is {scheme!r}, not 'vapid' (RFC 8292)")
    values: dict[str, str] = {}
    for part in params.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            values[name.strip().lower()] = value.strip().strip('"')
    if "t" not in values or "k" not in values:
        raise VapidError(401, "Authorization lacks the t= or k= parameter")
    # k is base64url without padding; tolerate padding the way real services do.
    return values["t"], values["k"].rstrip("=")


def verify_vapid(
    header: str, audience: str, now: float | None = None
) -> tuple[dict[str, Any], str]:
    """Check a VAPID Authorization header as a push service does (RFC 8292).

    Returns (claims, k). Raises VapidError(401, reason) when the token is not acceptable.
    """
    now = time.time() if now is None else now
    token, k = parse_vapid_authorization(header)
    public_key = _vapid_public_key(k)

    parts = token.split(".")
    if len(parts) != 3:
        raise VapidError(401, "VAPID token is not a JWS compact serialization")
    try:
        jose = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError as exc:
        raise VapidError(401, "VAPID token is not valid base64url JSON") from exc
    if not isinstance(jose, dict) or jose.get("alg") != "ES256":
        raise VapidError(401, "VAPID token header alg is not ES256")
    if not isinstance(claims, dict):
        raise VapidError(401, "VAPID claims are not a JSON object")
    # JWS ES256 signatures are r || s, 32 bytes each (RFC 7518 section 3.4), not DER.
    if len(signature) != 64:
        raise VapidError(401, "VAPID signature is not 64 bytes (r || s)")
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
    try:
        public_key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise VapidError(401, "VAPID signature does not verify against k") from exc

    if claims.get("aud") != audience:
        raise VapidError(401, f"VAPID aud {claims.get('aud')!r} is not {audience!r}")
    exp = claims.get("exp")
    # A JWT NumericDate is a JSON number of seconds (RFC 7519 section 2).
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise VapidError(401, "VAPID exp is missing or not a number")
    if exp <= now:
        raise VapidError(401, f"VAPID token expired {now - exp:.0f} s ago")
    if exp > now + MAX_VAPID_LIFETIME:
        raise VapidError(401, f"VAPID exp is {exp - now:.0f} s ahead, more than 24 h")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub.startswith(("mailto:", "https:")):
        raise VapidError(401, f"VAPID sub {sub!r} is not a mailto: or https: URI")
    return claims, k


# --------------------------------------------------------------------------------------------------
# All checks of one push


@dataclass(frozen=True)
class CheckResult:
    """What the checks of one push found; ``status`` 201 means every check passed."""

    status: int
    reason: str = ""
    plaintext: bytes = b""
    ttl: int = 0
    topic: str | None = None
    urgency: str | None = None
    claims: dict[str, Any] = field(default_factory=dict)
    vapid_public_key: str = ""


def check_push(
    headers: dict[str, str],
    body: bytes,
    audience: str,
    keys: SubscriptionKeys,
    application_server_key: str | None = None,
    now: float | None = None,
) -> CheckResult:
    """Check a push request as the push service and then the browser would.

    ``headers`` has lower-case names; ``audience`` is the push service's origin.
    """
    now = time.time() if now is None else now
    # The push service's checks (RFC 8030 section 5), cheapest first.
    ttl_text = headers.get("ttl")
    if ttl_text is None or not _TTL.fullmatch(ttl_text.strip()):
        return CheckResult(400, f"TTL header missing or not a number of seconds: {ttl_text!r}")
    urgency = headers.get("urgency")
    if urgency is not None and urgency not in URGENCIES:
        return CheckResult(400, f"bad Urgency {urgency!r}")
    topic = headers.get("topic")
    if topic is not None and not _TOPIC.fullmatch(topic):
        return CheckResult(400, f"bad Topic {topic!r}: 1-32 characters of the base64url alphabet")
    encoding = headers.get("content-encoding")
    # Content codings are case-insensitive (RFC 9110 section 8.4.1).
    if encoding is None or encoding.strip().lower() != "aes128gcm":
        return CheckResult(400, f"Content-Encoding is {encoding!r}, not 'aes128gcm'")
    if len(body) > MAX_BODY_BYTES:
        return CheckResult(413, f"body of {len(body)} bytes is over {MAX_BODY_BYTES}")
    authorization = headers.get("authorization")
    if authorization is None:
        return CheckResult(401, "no VAPID Authorization header")
    try:
        claims, k = verify_vapid(authorization, audience, now=now)
    except VapidError as exc:
        return CheckResult(exc.status, exc.reason)
    if application_server_key is not None and application_server_key.rstrip("=") != k:
        return CheckResult(403, "VAPID key is not the applicationServerKey of the subscription")

    # The browser's check: a message it cannot decrypt is dropped. A real service would have
    # answered 201 and the loss would go unseen; answering 400 makes it visible in tests.
    try:
        plaintext = decrypt_push(body, keys)
    except ValueError as exc:
        return CheckResult(400, str(exc))
    return CheckResult(201, "", plaintext, int(ttl_text), topic, urgency, claims, k)


# --------------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Behaviour:
    """How a subscription answers requests that pass every check.

    ``status`` 201 delivers; any other status is answered without delivering (404 and 410 as a
    service does for a gone subscription, 429 with ``retry_after`` for rate limiting, 5xx...).
    ``times`` None applies the behaviour to every request; N applies it to the next N requests that
    pass the checks, after which the subscription answers 201 again. ``delay`` seconds pass before
    the answer is sent; the push is checked and recorded on arrival, so a client that times out has
    still delivered it, as can happen with a real service.
    """

    status: int = 201
    times: int | None = None
    retry_after: str | int | None = None
    delay: float = 0.0
    # With a 3xx status: where the answer tells the client to go instead (a hostile service).
    location: str | None = None

    def __post_init__(self) -> None:
        if not 200 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not a final HTTP status")
        if self.times is not None and self.times < 1:
            raise ValueError("times is None (always) or at least 1")
        if self.delay < 0:
            raise ValueError("delay cannot be negative")


@dataclass(frozen=True)
class Delivery:
    """A push that passed every check and was decrypted."""

    endpoint: str
    plaintext: bytes
    headers: dict[str, str]  # lower-case names
    topic: str | None
    urgency: str | None
    ttl: int
    vapid_claims: dict[str, Any]
    received_at: float  # time.time()
    vapid_public_key: str = ""  # the k parameter, base64url


@dataclass(frozen=True)
class Rejection:
    """A request the push service (or the browser) refused, and why."""

    endpoint: str
    status: int
    reason: str
    headers: dict[str, str]
    received_at: float


@dataclass(frozen=True)
class Attempt:
    """Every answered push request: its status, when it came, and why when it was not 201."""

    endpoint: str
    status: int
    reason: str
    received_at: float


@dataclass
class _Subscription:
    keys: SubscriptionKeys
    behaviour: Behaviour
    remaining: int | None  # how many more requests the behaviour applies to (None: always)
    application_server_key: str | None
    expired: bool = False


@dataclass
class _Outcome:
    status: int
    reason: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    delay: float = 0.0


# --------------------------------------------------------------------------------------------------
# The service


class PushService:
    """A push service on 127.0.0.1, started by the constructor; stop() or ``with`` stops it.

    It runs in a thread of the calling process, so its checks (about 0.4 ms of cryptography per
    push, which holds the interpreter lock) share one core with the caller's Python code. For
    benchmarks whose sender runs in the same process, use PushServiceProcess.
    """

    def __init__(self, startup_timeout: float = 10.0) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._subscriptions: dict[str, _Subscription] = {}
        self._deliveries: list[Delivery] = []
        self._rejections: list[Rejection] = []
        self._attempts: list[Attempt] = []

        # Binding the socket ourselves gives a free port that is known before the server starts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port: int = sock.getsockname()[1]
        self.origin: str = f"http://127.0.0.1:{self.port}"

        config = uvicorn.Config(
            self._asgi,
            interface="asgi3",
            lifespan="off",
            proxy_headers=False,
            access_log=False,
            log_level="warning",
            # A benchmark opens many keep-alive connections at once.
            backlog=2048,
            timeout_keep_alive=30,
            # Do not let a delayed answer hold up stop() for long.
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="push-service", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("push service did not start")
            time.sleep(0.01)

    # ---- lifecycle

    def stop(self) -> None:
        """Stop the server; safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def __enter__(self) -> PushService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- subscriptions

    def new_subscription(
        self, behaviour: Behaviour | None = None, *, application_server_key: str | None = None
    ) -> dict[str, Any]:
        """Create a subscription; returns what a browser's PushSubscription.toJSON() gives.

        ``application_server_key`` (base64url) is the key passed to pushManager.subscribe(); when
        given, pushes signed with another VAPID key are refused with 403, as real services do.
        """
        keys = make_subscription_keys()
        sub_id = secrets.token_urlsafe(24)
        behaviour = behaviour or Behaviour()
        with self._lock:
            self._subscriptions[sub_id] = _Subscription(
                keys, behaviour, behaviour.times, application_server_key
            )
        return {
            "endpoint": f"{self.origin}/push/{sub_id}",
            "expirationTime": None,
            "keys": {"p256dh": keys.p256dh, "auth": keys.auth},
        }

    def set_behaviour(self, endpoint: str, behaviour: Behaviour | None = None) -> None:
        """Change how a subscription answers; None goes back to plain 201."""
        behaviour = behaviour or Behaviour()
        with self._lock:
            subscription = self._subscriptions[self._id(endpoint)]
            subscription.behaviour = behaviour
            subscription.remaining = behaviour.times

    def expire(self, endpoint: str) -> None:
        """The user unsubscribed: from now on the endpoint answers 410 Gone."""
        with self._lock:
            self._subscriptions[self._id(endpoint)].expired = True

    def keys(self, endpoint: str) -> SubscriptionKeys:
        """The browser-side keys of a subscription, to decrypt by hand."""
        with self._lock:
            return self._subscriptions[self._id(endpoint)].keys

    def _id(self, endpoint: str) -> str:
        prefix = f"{self.origin}/push/"
        if not endpoint.startswith(prefix):
            raise KeyError(f"{endpoint!r} is not an endpoint of this push service")
        return endpoint[len(prefix) :]

    # ---- records

    def deliveries(self, endpoint: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries if endpoint in (None, d.endpoint)]

    def rejections(self, endpoint: str | None = None) -> list[Rejection]:
        with self._lock:
            return [r for r in self._rejections if endpoint in (None, r.endpoint)]

    def attempts(self, endpoint: str | None = None) -> list[Attempt]:
        with self._lock:
            return [a for a in self._attempts if endpoint in (None, a.endpoint)]

    def clear(self) -> None:
        """Forget deliveries, rejections and attempts (subscriptions stay)."""
        with self._lock:
            self._deliveries.clear()
            self._rejections.clear()
            self._attempts.clear()

    def wait_for(
        self, count: int, timeout: float = 5.0, endpoint: str | None = None
    ) -> list[Delivery]:
        """Block until at least ``count`` deliveries arrived (to ``endpoint``); returns them all.

        Raises TimeoutError saying what did arrive instead, so a failing test shows why.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [d for d in self._deliveries if endpoint in (None, d.endpoint)]
                left = deadline - time.monotonic()
                if len(found) >= count:
                    return found
                if left <= 0:
                    break
                self._changed.wait(left)
            statuses = Counter(a.status for a in self._attempts if endpoint in (None, a.endpoint))
            reasons = [
                f"{r.status} {r.reason}" for r in self._rejections if endpoint in (None, r.endpoint)
            ]
        raise TimeoutError(
            f"expected {count} deliveries within {timeout} s, got {len(found)}; "
            f"answers by status: {dict(statuses)}; last rejections: {reasons[-5:]}"
        )

    # ---- HTTP

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            # Past the limit, read on only to keep the connection usable; the size is judged later.
            if len(body) <= MAX_BODY_BYTES:
                body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value

        match = _PUSH_PATH.fullmatch(scope["path"])
        if match is None:
            outcome = _Outcome(404, "no such path")
        elif scope["method"] != "POST":
            outcome = _Outcome(405, "push messages are sent with POST")
        else:
            outcome = self._handle_push(match.group(1), headers, bytes(body))

        if outcome.delay:
            await asyncio.sleep(outcome.delay)
        payload = b"" if outcome.status == 201 else json.dumps({"error": outcome.reason}).encode()
        response_headers = [(b"content-length", str(len(payload)).encode()), *outcome.headers]
        if payload:
            response_headers.append((b"content-type", b"application/json"))
        await send(
            {"type": "http.response.start", "status": outcome.status, "headers": response_headers}
        )
        await send({"type": "http.response.body", "body": payload})

    def _handle_push(self, sub_id: str, headers: dict[str, str], body: bytes) -> _Outcome:
        endpoint = f"{self.origin}/push/{sub_id}"
        received_at = time.time()
        with self._lock:
            subscription = self._subscriptions.get(sub_id)
        if subscription is None:
            return self._reject(endpoint, 404, "unknown subscription", headers, received_at)
        if subscription.expired:
            return self._reject(endpoint, 410, "subscription expired", headers, received_at)

        checked = check_push(
            headers,
            body,
            self.origin,
            subscription.keys,
            subscription.application_server_key,
            received_at,
        )
        if checked.status != 201:
            return self._reject(endpoint, checked.status, checked.reason, headers, received_at)

        with self._changed:
            behaviour = subscription.behaviour
            if subscription.remaining is not None:
                subscription.remaining -= 1
                if subscription.remaining <= 0:
                    subscription.behaviour, subscription.remaining = Behaviour(), None
            if behaviour.status != 201:
                outcome = _Outcome(behaviour.status, f"answered {behaviour.status} as told")
                if behaviour.retry_after is not None:
                    outcome.headers.append((b"retry-after", str(behaviour.retry_after).encode()))
                if behaviour.location is not None:
                    outcome.headers.append((b"location", behaviour.location.encode()))
            else:
                self._deliveries.append(
                    Delivery(
                        endpoint,
                        checked.plaintext,
                        headers,
                        checked.topic,
                        checked.urgency,
                        checked.ttl,
                        checked.claims,
                        received_at,
                        checked.vapid_public_key,
                    )
                )
                # RFC 8030 section 5: 201 with the message's URL, and the TTL the service keeps.
                location = f"{self.origin}/message/{secrets.token_urlsafe(12)}"
                outcome = _Outcome(
                    201, "", [(b"location", location.encode()), (b"ttl", str(checked.ttl).encode())]
                )
            outcome.delay = behaviour.delay
            self._attempts.append(Attempt(endpoint, outcome.status, outcome.reason, received_at))
            self._changed.notify_all()
        return outcome

    def _reject(
        self, endpoint: str, status: int, reason: str, headers: dict[str, str], received_at: float
    ) -> _Outcome:
        with self._changed:
            self._rejections.append(Rejection(endpoint, status, reason, headers, received_at))
            self._attempts.append(Attempt(endpoint, status, reason, received_at))
            self._changed.notify_all()
        return _Outcome(status, reason)


# --------------------------------------------------------------------------------------------------
# The same service in a child process


class PushServiceProcess:
    """PushService in a child process, with the same methods (but not ``keys``).

    The cryptography package holds the interpreter lock, so a PushService thread competes with a
    sender in the same process; in a child process the service has a core of its own. Calls are
    forwarded over a pipe; records come back as copies. Start-up takes about half a second.
    """

    def __init__(self, startup_timeout: float = 30.0) -> None:
        # spawn, not fork: forking a process that runs threads (pytest's, a server's) can copy a
        # lock in its held state into the child.
        context = get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._lock = threading.Lock()  # one call on the pipe at a time
        self._process = context.Process(
            target=_serve_in_child, args=(child_conn,), name="push-service", daemon=True
        )
        self._process.start()
        child_conn.close()
        if not self._conn.poll(startup_timeout):
            self._process.kill()
            raise RuntimeError("push service process did not start")
        self.port: int
        self.origin: str
        self.port, self.origin = self._conn.recv()

    def _call(self, method: str, *args: Any) -> Any:
        with self._lock:
            self._conn.send((method, args))
            ok, result = self._conn.recv()
        if not ok:
            raise result
        return result

    def stop(self) -> None:
        """Stop the server and its process; safe to call twice."""
        if self._process.is_alive():
            with contextlib.suppress(EOFError, OSError):
                self._call("stop")
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._conn.close()

    def __enter__(self) -> PushServiceProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def new_subscription(
        self, behaviour: Behaviour | None = None, *, application_server_key: str | None = None
    ) -> dict[str, Any]:
        return self._call("new_subscription", behaviour, application_server_key)

    def set_behaviour(self, endpoint: str, behaviour: Behaviour | None = None) -> None:
        self._call("set_behaviour", endpoint, behaviour)

    def expire(self, endpoint: str) -> None:
        self._call("expire", endpoint)

    def deliveries(self, endpoint: str | None = None) -> list[Delivery]:
        return self._call("deliveries", endpoint)

    def rejections(self, endpoint: str | None = None) -> list[Rejection]:
        return self._call("rejections", endpoint)

    def attempts(self, endpoint: str | None = None) -> list[Attempt]:
        return self._call("attempts", endpoint)

    def clear(self) -> None:
        self._call("clear")

    def wait_for(
        self, count: int, timeout: float = 5.0, endpoint: str | None = None
    ) -> list[Delivery]:
        return self._call("wait_for", count, timeout, endpoint)


def _serve_in_child(conn: Connection) -> None:
    """The child's side of PushServiceProcess: run a PushService and answer calls until "stop"."""
    service = PushService()
    conn.send((service.port, service.origin))
    calls = {
        "new_subscription": lambda behaviour, key: service.new_subscription(
            behaviour, application_server_key=key
        ),
        "set_behaviour": service.set_behaviour,
        "expire": service.expire,
        "deliveries": service.deliveries,
        "rejections": service.rejections,
        "attempts": service.attempts,
        "clear": service.clear,
        "wait_for": service.wait_for,
    }
    try:
        while True:
            try:
                method, args = conn.recv()
            except EOFError:  # the parent is gone
                break
            if method == "stop":
                service.stop()
                conn.send((True, None))
                break
            try:
                conn.send((True, calls[method](*args)))
            except Exception as exc:  # KeyError, TimeoutError...: raised again in the parent
                conn.send((False, exc))
    finally:
        service.stop()
