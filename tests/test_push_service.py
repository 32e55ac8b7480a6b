"""The local push service fixture checks what a real push service and browser would check.

pywebpush is the independent sender here; the RFC 8291 example pins the decryption on its own.
These tests do not import the tandem package.
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid, Vapid01
from py_vapid.jwt import sign as sign_jwt
from pywebpush import WebPusher, WebPushException, webpush, webpush_async

sys.path.insert(0, str(Path(__file__).resolve().parent))
from push_service import (  # noqa: E402
    Behaviour,
    PushService,
    PushServiceProcess,
    SubscriptionKeys,
    b64url_decode,
    b64url_encode,
    decrypt_push,
    make_subscription_keys,
)

SUB = "mailto:ops@example.org"


@pytest.fixture(scope="module")
def service() -> Iterator[PushService]:
    with PushService() as push_service:
        yield push_service


@pytest.fixture(scope="module")
def vapid() -> Vapid:
    key = Vapid()
    key.generate_keys()
    return key


def vapid_public(key: Vapid) -> str:
    """The application server key, as the page passes it to pushManager.subscribe()."""
    point = key.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return b64url_encode(point)


def send(subscription: dict, vapid: Vapid, data: str = "hello", **kwargs: Any) -> requests.Response:
    """A push as an application server sends it with pywebpush (fresh claims: it writes to them)."""
    kwargs.setdefault("vapid_claims", {"sub": SUB})
    kwargs.setdefault("timeout", 5)
    return webpush(subscription, data, vapid_private_key=vapid, ttl=60, **kwargs)


def send_expecting(
    status: int, subscription: dict, vapid: Vapid, **kwargs: Any
) -> WebPushException:
    with pytest.raises(WebPushException) as caught:
        send(subscription, vapid, **kwargs)
    assert caught.value.status_code == status, caught.value
    return caught.value


def signed_authorization(key: Vapid, claims: dict, k: str | None = None) -> str:
    """A VAPID header signed by ``key`` with any claims at all, and optionally someone else's k."""
    token = sign_jwt(claims, key.private_key)
    return f"vapid t={token}, k={k or vapid_public(key)}"


def origin_of(subscription: dict) -> str:
    return subscription["endpoint"].split("/push/")[0]


# ---- the subscription a browser would hand over


def test_new_subscription_is_what_a_browser_gives(service: PushService) -> None:
    subscription = service.new_subscription()
    assert set(subscription) == {"endpoint", "expirationTime", "keys"}
    assert subscription["expirationTime"] is None
    assert subscription["endpoint"].startswith(f"http://127.0.0.1:{service.port}/push/")
    p256dh, auth = subscription["keys"]["p256dh"], subscription["keys"]["auth"]
    assert "=" not in p256dh + auth
    point = b64url_decode(p256dh)
    assert len(point) == 65 and point[0] == 0x04
    assert len(b64url_decode(auth)) == 16
    assert service.new_subscription()["endpoint"] != subscription["endpoint"]


def test_make_subscription_keys_gives_fresh_p256_keys() -> None:
    first, second = make_subscription_keys(), make_subscription_keys()
    assert first.private_key.curve.name == "secp256r1"
    assert first.p256dh != second.p256dh and first.auth != second.auth


def test_decryption_matches_the_rfc_8291_example() -> None:
    # RFC 8291 section 5 / appendix A: the user agent's keys and the message the example sends.
    ua_private = b64url_decode("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")
    keys = SubscriptionKeys(
        ec.derive_private_key(int.from_bytes(ua_private, "big"), ec.SECP256R1()),
        b64url_decode("BTBZMqHH6r4Tts7J_aSIgg"),
    )
    assert keys.p256dh == (
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    )
    body = b64url_decode(
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYW"
        "AmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgS"
        "xsj_Qulcy4a-fN"
    )
    assert decrypt_push(body, keys) == b"When I grow up, I want to be a watermelon"


# ---- delivery


def test_push_is_decrypted_to_the_exact_plaintext(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    plaintext = '{"id": "n-1", "pad": "' + "\u00e9" * 500 + '"}'
    response = send(
        subscription, vapid, plaintext, headers={"Topic": "abc_DEF-123", "Urgency": "high"}
    )
    assert response.status_code == 201
    assert response.headers["Location"].startswith(f"{service.origin}/message/")
    assert response.headers["TTL"] == "60"

    [delivery] = service.wait_for(1, timeout=2, endpoint=subscription["endpoint"])
    assert delivery.plaintext == plaintext.encode()
    assert delivery.endpoint == subscription["endpoint"]
    assert (delivery.topic, delivery.urgency, delivery.ttl) == ("abc_DEF-123", "high", 60)
    assert delivery.headers["content-encoding"] == "aes128gcm"
    assert delivery.vapid_public_key == vapid_public(vapid)
    claims = delivery.vapid_claims
    assert claims["aud"] == service.origin and claims["sub"] == SUB
    # pywebpush's default lifetime: 12 hours, the most the spec allows.
    assert delivery.received_at < claims["exp"] <= delivery.received_at + 12 * 3600 + 1
    assert service.rejections(subscription["endpoint"]) == []


def test_topic_and_urgency_are_optional(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    send(subscription, vapid, "plain")
    [delivery] = service.deliveries(subscription["endpoint"])
    assert (delivery.topic, delivery.urgency, delivery.ttl) == (None, None, 60)


def test_many_pushes_over_keep_alive_with_the_async_path(
    service: PushService, vapid: Vapid
) -> None:
    subscriptions = [service.new_subscription() for _ in range(5)]

    async def send_all() -> list[int]:
        connector = aiohttp.TCPConnector(limit=10)
        async with aiohttp.ClientSession(connector=connector) as session:
            responses = await asyncio.gather(
                *(
                    webpush_async(
                        subscriptions[i % 5],
                        f"message {i}",
                        vapid_private_key=vapid,
                        vapid_claims={"sub": SUB},
                        ttl=30,
                        aiohttp_session=session,
                    )
                    for i in range(40)
                )
            )
        return [r.status for r in responses]  # type: ignore[union-attr]

    assert asyncio.run(send_all()) == [201] * 40
    received = [d.plaintext for s in subscriptions for d in service.deliveries(s["endpoint"])]
    assert sorted(received) == sorted(f"message {i}".encode() for i in range(40))


# ---- what a real service refuses


def test_jwt_signed_by_another_key_than_k_is_refused(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    other = Vapid()
    other.generate_keys()
    claims = {"sub": SUB, "aud": origin_of(subscription), "exp": int(time.time()) + 3600}
    forged = signed_authorization(other, claims, k=vapid_public(vapid))
    send_expecting(401, subscription, vapid, vapid_claims=None, headers={"Authorization": forged})
    [rejection] = service.rejections(subscription["endpoint"])
    assert "signature" in rejection.reason
    assert service.deliveries(subscription["endpoint"]) == []


def test_wrong_audience_is_refused(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    claims = {"sub": SUB, "aud": "http://127.0.0.1:1"}
    send_expecting(401, subscription, vapid, vapid_claims=claims)
    assert "aud" in service.rejections(subscription["endpoint"])[0].reason
    assert service.deliveries(subscription["endpoint"]) == []


@pytest.mark.parametrize(
    ("exp_from_now", "sub", "words"),
    [
        (-60, SUB, "expired"),
        (25 * 3600, SUB, "24 h"),
        (3600, "ops@example.org", "sub"),
    ],
)
def test_bad_exp_or_sub_is_refused(
    service: PushService, vapid: Vapid, exp_from_now: int, sub: str, words: str
) -> None:
    subscription = service.new_subscription()
    # Signed by hand: pywebpush would replace an expired exp and py_vapid refuses a bad sub.
    claims = {"sub": sub, "aud": origin_of(subscription), "exp": int(time.time()) + exp_from_now}
    authorization = signed_authorization(vapid, claims)
    send_expecting(
        401, subscription, vapid, vapid_claims=None, headers={"Authorization": authorization}
    )
    assert words in service.rejections(subscription["endpoint"])[0].reason
    assert service.deliveries(subscription["endpoint"]) == []


def test_missing_or_legacy_vapid_is_refused(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    send_expecting(401, subscription, vapid, vapid_claims=None)
    legacy = Vapid01.from_pem(vapid.private_pem())  # "WebPush <jwt>" + Crypto-Key, pre-RFC 8292
    send_expecting(401, subscription, legacy)
    reasons = [r.reason for r in service.rejections(subscription["endpoint"])]
    assert "no VAPID" in reasons[0] and "scheme" in reasons[1]


def test_key_other_than_the_application_server_key_is_refused(
    service: PushService, vapid: Vapid
) -> None:
    subscription = service.new_subscription(application_server_key=vapid_public(vapid))
    other = Vapid()
    other.generate_keys()
    send_expecting(403, subscription, other)
    send(subscription, vapid)
    assert len(service.deliveries(subscription["endpoint"])) == 1


def encrypted_request(subscription: dict, vapid: Vapid, data: bytes) -> tuple[bytes, dict]:
    """An encrypted body and complete headers, to be altered before posting."""
    body = WebPusher(subscription).encode(data)["body"]
    headers = vapid.sign({"sub": SUB, "aud": origin_of(subscription)})
    headers.update({"TTL": "60", "Content-Encoding": "aes128gcm"})
    return body, headers


def test_tampered_body_is_refused(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    body, headers = encrypted_request(subscription, vapid, b"do not touch")
    tampered = body[:-5] + bytes([body[-5] ^ 0x01]) + body[-4:]
    response = requests.post(subscription["endpoint"], data=tampered, headers=headers, timeout=5)
    assert response.status_code == 400
    assert "decryption failed" in service.rejections(subscription["endpoint"])[0].reason
    assert service.deliveries(subscription["endpoint"]) == []
    # The untouched body goes through, so it was the tampering that was refused.
    response = requests.post(subscription["endpoint"], data=body, headers=headers, timeout=5)
    assert response.status_code == 201


def test_message_for_another_subscription_is_refused(service: PushService, vapid: Vapid) -> None:
    mine, theirs = service.new_subscription(), service.new_subscription()
    body, headers = encrypted_request(theirs, vapid, b"not for me")
    response = requests.post(mine["endpoint"], data=body, headers=headers, timeout=5)
    assert response.status_code == 400
    assert service.deliveries(mine["endpoint"]) == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"TTL": None}, "TTL"),
        ({"TTL": "-1"}, "TTL"),
        ({"TTL": "soon"}, "TTL"),
        ({"Content-Encoding": "aesgcm"}, "Content-Encoding"),
        ({"Content-Encoding": None}, "Content-Encoding"),
        ({"Urgency": "urgent"}, "Urgency"),
        ({"Topic": "x" * 33}, "Topic"),
        ({"Topic": "no spaces"}, "Topic"),
    ],
)
def test_bad_headers_are_refused(
    service: PushService, vapid: Vapid, change: dict, words: str
) -> None:
    subscription = service.new_subscription()
    body, headers = encrypted_request(subscription, vapid, b"x")
    headers.update(change)
    headers = {name: value for name, value in headers.items() if value is not None}
    response = requests.post(subscription["endpoint"], data=body, headers=headers, timeout=5)
    assert response.status_code == 400
    assert words in service.rejections(subscription["endpoint"])[0].reason
    assert service.deliveries(subscription["endpoint"]) == []


def test_body_over_4096_bytes_is_refused(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    send_expecting(413, subscription, vapid, data="x" * 4000)
    send(subscription, vapid, data="x" * 3072)  # the app's padded size fits
    assert len(service.deliveries(subscription["endpoint"])) == 1


def test_unknown_and_expired_subscriptions(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    unknown = dict(subscription, endpoint=f"{service.origin}/push/nobody")
    send_expecting(404, unknown, vapid)
    send(subscription, vapid)
    service.expire(subscription["endpoint"])
    send_expecting(410, subscription, vapid)
    assert len(service.deliveries(subscription["endpoint"])) == 1
    with pytest.raises(KeyError):
        service.expire("https://elsewhere.example/push/x")


# ---- behaviour knobs


def test_429_with_retry_after_for_the_next_two_requests(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription(Behaviour(status=429, times=2, retry_after=7))
    for _ in range(2):
        error = send_expecting(429, subscription, vapid)
        assert error.retry_after == "7"
    assert send(subscription, vapid).status_code == 201
    statuses = [a.status for a in service.attempts(subscription["endpoint"])]
    assert statuses == [429, 429, 201]
    # Answered as told, not refused: rejections are for pushes a real service would refuse.
    assert service.rejections(subscription["endpoint"]) == []
    assert len(service.deliveries(subscription["endpoint"])) == 1


def test_500_until_changed(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    service.set_behaviour(subscription["endpoint"], Behaviour(status=500))
    for _ in range(3):
        send_expecting(500, subscription, vapid)
    service.set_behaviour(subscription["endpoint"], None)
    assert send(subscription, vapid).status_code == 201
    assert len(service.deliveries(subscription["endpoint"])) == 1


def test_delay_makes_a_client_time_out(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription(Behaviour(delay=2.0, times=1))
    with pytest.raises(requests.exceptions.Timeout):
        send(subscription, vapid, timeout=0.2)
    # As with a real service, the push may have arrived although the client gave up.
    assert len(service.wait_for(1, timeout=2, endpoint=subscription["endpoint"])) == 1
    # The delay was for one request: the next is answered well within a timeout below it.
    assert send(subscription, vapid, timeout=1.5).status_code == 201


def test_wait_for_says_what_went_wrong(service: PushService, vapid: Vapid) -> None:
    subscription = service.new_subscription()
    send_expecting(401, subscription, vapid, vapid_claims={"sub": SUB, "aud": "http://x.test"})
    with pytest.raises(TimeoutError, match=r"got 0.*401.*aud"):
        service.wait_for(1, timeout=0.2, endpoint=subscription["endpoint"])


def test_records_are_copies_and_clear_forgets_them(vapid: Vapid) -> None:
    with PushService() as own:
        subscription = own.new_subscription()
        send(subscription, vapid)
        own.deliveries().clear()
        assert len(own.deliveries()) == 1
        own.clear()
        assert own.deliveries() == [] and own.attempts() == []
        send(subscription, vapid)  # subscriptions survive clear()
        assert len(own.wait_for(1, timeout=2)) == 1


def test_service_in_a_child_process(vapid: Vapid) -> None:
    with PushServiceProcess() as child:
        subscription = child.new_subscription(Behaviour(status=503, times=1))
        send_expecting(503, subscription, vapid)
        send(subscription, vapid, "from afar")
        [delivery] = child.wait_for(1, timeout=2)
        assert delivery.plaintext == b"from afar"
        assert [a.status for a in child.attempts()] == [503, 201]
        with pytest.raises(KeyError):
            child.expire("http://elsewhere.test/push/x")
        with pytest.raises(TimeoutError):
            child.wait_for(2, timeout=0.1)
    assert child._process.exitcode == 0


def test_b64url_helpers_round_trip() -> None:
    data = bytes(range(256))
    assert b64url_decode(b64url_encode(data)) == data
    assert b64url_encode(data) == base64.urlsafe_b64encode(data).decode().rstrip("=")
    with pytest.raises(ValueError):
        b64url_decode("not+base64url/")


def test_behaviour_refuses_nonsense() -> None:
    for bad in ({"times": 0}, {"status": 99}, {"delay": -1}):
        with pytest.raises(ValueError):
            Behaviour(**bad)
