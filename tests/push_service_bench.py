"""How many pushes per second the local push service accepts.

Sends pushes with pywebpush's aiohttp path (``webpush_async`` with a shared ClientSession, about 50
requests in flight over keep-alive connections) and prints the rate the service accepted them at:

    python tests/push_service_bench.py [--count 3000] [--concurrency 50]
        [--service thread|process] [--senders N] [--prebuilt]

``--service process`` runs the service in a child process (PushServiceProcess) instead of a thread.
``--senders N`` sends from N child processes instead of this one. ``--prebuilt`` encrypts and signs
every push with pywebpush before the clock starts and then only posts them, which measures what the
service can take rather than how fast pywebpush can encrypt.

Not a pytest module on purpose (its name does not start with ``test_``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import aiohttp
from py_vapid import Vapid
from pywebpush import WebPusher, webpush_async

sys.path.insert(0, str(Path(__file__).resolve().parent))
from push_service import PushService, PushServiceProcess  # noqa: E402

# A fixed-size payload like the app's: opaque ids padded to one size.
PAYLOAD = '{"id":"0123456789abcdef","kind":"reminder"}'.ljust(1024)
SUB = "mailto:bench@example.org"


def prebuild(
    subscriptions: list[dict[str, Any]], count: int, vapid: Vapid
) -> list[tuple[str, bytes, dict[str, str]]]:
    """Encrypt and sign ``count`` pushes with pywebpush's public API, ready to post."""
    requests = []
    for i in range(count):
        subscription = subscriptions[i % len(subscriptions)]
        origin = subscription["endpoint"].split("/push/")[0]
        headers = vapid.sign({"sub": SUB, "aud": origin, "exp": int(time.time()) + 3600})
        headers.update(
            {"TTL": "3600", "Content-Encoding": "aes128gcm", "Urgency": "normal", "Topic": f"t{i}"}
        )
        body = WebPusher(subscription).encode(PAYLOAD.encode())["body"]
        requests.append((subscription["endpoint"], body, headers))
    return requests


async def send_all(
    subscriptions: list[dict[str, Any]],
    count: int,
    concurrency: int,
    vapid_pem: bytes,
    prebuilt: bool,
) -> tuple[dict[int, int], float, float]:
    """Send ``count`` pushes round-robin; returns (answers by status, start, end)."""
    vapid = Vapid.from_pem(vapid_pem)
    ready = prebuild(subscriptions, count, vapid) if prebuilt else []
    statuses: dict[int, int] = {}
    next_index = iter(range(count))

    async def push(session: aiohttp.ClientSession, i: int) -> int:
        if prebuilt:
            endpoint, body, headers = ready[i]
            async with session.post(endpoint, data=body, headers=headers) as response:
                await response.read()
                return response.status
        response = await webpush_async(
            subscriptions[i % len(subscriptions)],
            PAYLOAD,
            vapid_private_key=vapid,
            # A fresh dict each time: pywebpush writes aud and exp into the one it is given.
            vapid_claims={"sub": SUB},
            ttl=3600,
            headers={"Urgency": "normal", "Topic": f"t{i}"},
            timeout=30,
            aiohttp_session=session,
        )
        return response.status  # type: ignore[union-attr]

    async def worker(session: aiohttp.ClientSession) -> None:
        for i in next_index:
            status = await push(session, i)
            statuses[status] = statuses.get(status, 0) + 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.time()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        end = time.time()
    return statuses, start, end


def sender_process(args: tuple[Any, ...]) -> tuple[dict[int, int], float, float]:
    return asyncio.run(send_all(*args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight in all")
    parser.add_argument("--service", choices=["thread", "process"], default="thread")
    parser.add_argument("--senders", type=int, default=0, help="sender processes (0: this one)")
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--prebuilt", action="store_true", help="encrypt before the clock starts")
    options = parser.parse_args()

    vapid = Vapid()
    vapid.generate_keys()
    vapid_pem = vapid.private_pem()

    service_class = PushServiceProcess if options.service == "process" else PushService
    with service_class() as service:
        subscriptions = [service.new_subscription() for _ in range(options.subscriptions)]
        if options.senders == 0:
            args = (subscriptions, options.count, options.concurrency, vapid_pem, options.prebuilt)
            results = [asyncio.run(send_all(*args))]
        else:
            share = options.count // options.senders
            per_sender = max(1, options.concurrency // options.senders)
            args = (subscriptions, share, per_sender, vapid_pem, options.prebuilt)
            with get_context("spawn").Pool(options.senders) as pool:
                results = pool.map(sender_process, [args] * options.senders)
        deliveries = service.deliveries()
        rejections = service.rejections()

    statuses: dict[int, int] = {}
    for result, _, _ in results:
        for status, n in result.items():
            statuses[status] = statuses.get(status, 0) + n
    elapsed = max(end for _, _, end in results) - min(start for _, start, _ in results)
    accepted = len(deliveries)
    # The service's own view: from the first push it received to the last.
    arrivals = sorted(d.received_at for d in deliveries)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else float("nan")

    print(
        f"service in a {options.service}, senders: {options.senders or 'this process'}, "
        f"{'prebuilt' if options.prebuilt else 'pywebpush webpush_async'}, "
        f"{options.concurrency} in flight"
    )
    print(f"answers by status: {statuses}; rejections: {len(rejections)}")
    if rejections:
        print(f"first rejection: {rejections[0].status} {rejections[0].reason}")
    print(
        f"accepted {accepted} pushes in {elapsed:.2f} s: {accepted / elapsed:.0f}/s; "
        f"{(accepted - 1) / span:.0f}/s from the first arrival to the last"
    )


if __name__ == "__main__":
    main()
