import base64
import secrets

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.authz import Case
from tests.factories import register


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_POINT = (
    ec.generate_private_key(ec.SECP256R1())
    .public_key()
    .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
)


def subscription(w):
    # Any signed-in person may register a device; the same endpoint moves to the last caller.
    return {
        "endpoint": f"https://fcm.googleapis.com/fcm/send/matrix-{secrets.token_hex(8)}",
        "expirationTime": None,
        "keys": {"p256dh": _b64(_POINT), "auth": _b64(secrets.token_bytes(16))},
    }


REMINDERS = {
    "enabled": True,
    "times": ["08:30"],
    "weekdays": [0, 1, 2, 3, 4],
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "timezone": "Europe/Berlin",
    "discreet": True,
    "paused_until": None,
}

# Everything here is about the caller alone: no couple, no other person's data.
CASES = [
    Case(
        "GET", "/api/push/vapid-public-key", expect={"anonymous": 200, "everyone": 200}, public=True
    ),
    Case("POST", "/api/push/subscriptions", expect={"everyone": 201}, body=subscription),
    Case(
        "DELETE",
        "/api/push/subscriptions",
        expect={"everyone": 204},
        body=lambda w: {"endpoint": "https://fcm.googleapis.com/fcm/send/not-mine"},
    ),
    Case("POST", "/api/push/test", expect={"everyone": 202}),
    Case("GET", "/api/me/reminders", expect={"everyone": 200}),
    Case("PUT", "/api/me/reminders", expect={"everyone": 200}, body=lambda w: REMINDERS),
]

# How the caller's own device is doing: another person's endpoint is as unknown as none.
CASES.append(
    Case(
        "POST",
        "/api/push/subscriptions/status",
        expect={"everyone": 404},
        body=lambda w: {"endpoint": _someone_elses_endpoint(w)},
    )
)


def _someone_elses_endpoint(w):
    if "bystander_endpoint" not in w.context:
        body = subscription(w)
        assert register(w.app).post("/api/push/subscriptions", json=body).status_code == 201
        w.context["bystander_endpoint"] = body["endpoint"]
    return w.context["bystander_endpoint"]
