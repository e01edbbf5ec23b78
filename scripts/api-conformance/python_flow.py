"""The README's whole flow through a Python client generated from Kassa's /openapi.json.

Run by scripts/api-conformance/run against a fresh playground server, with the generated
package `kassa_generated` on PYTHONPATH (it is generated anew each run and never committed).
Usage: python_flow.py <base_url> <api_key>

Every step goes through the generated client's typed models and answers; a wrong shape in
the OpenAPI document shows up here as a failed parse or a missing field.
"""

import http.server
import json
import sys
import threading
import time

from kassa_generated import AuthenticatedClient, Client
from kassa_generated.api.devices import register_device
from kassa_generated.api.enrollments import create_enrollment
from kassa_generated.api.locations import create_location
from kassa_generated.api.orders import get_order, refund_order
from kassa_generated.api.playground import simulate_tap
from kassa_generated.api.sessions import create_session, get_session
from kassa_generated.api.webhooks import create_webhook_endpoint, list_webhook_deliveries
from kassa_generated.models import (
    CreateEnrollment,
    CreateLocation,
    CreateRefund,
    CreateSession,
    CreateWebhookEndpoint,
    OrderItem,
    RegisterDevice,
    RegisterDevicePlatform,
)


class Receiver(http.server.BaseHTTPRequestHandler):
    """A webhook receiver on 127.0.0.1 that keeps every event type it gets."""

    got: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        Receiver.got.append(json.loads(body)["type"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def ok(response, status=200):
    """The parsed body of an answer that must have `status`."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response.parsed is not None, response.content
    return response.parsed


def wait_for(check, what):
    deadline = time.time() + 30
    while not check():
        assert time.time() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def main(base, key):
    merchant = AuthenticatedClient(base_url=base, token=key, prefix="Basic")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/hook"

    location = ok(
        create_location.sync_detailed(
            client=merchant,
            body=CreateLocation(name="Flagship", city="Stockholm", country="SE"),
        ),
        201,
    )
    enrollment = ok(
        create_enrollment.sync_detailed(
            client=merchant, body=CreateEnrollment(location_id=location.id)
        ),
        201,
    )
    assert enrollment.enrollment_code, "the code is shown on create"
    # The POS registers with the pairing code: no merchant credentials.
    pos = Client(base_url=base)
    device = ok(
        register_device.sync_detailed(
            client=pos,
            body=RegisterDevice(
                enrollment_code=enrollment.enrollment_code,
                platform=RegisterDevicePlatform.WEB,
                name="Till 1",
            ),
        ),
        201,
    )
    assert str(device.location_id) == str(location.id)
    endpoint = ok(
        create_webhook_endpoint.sync_detailed(
            client=merchant, body=CreateWebhookEndpoint(url=hook_url)
        ),
        201,
    )
    assert endpoint.secret.startswith("whsec_")

    item = OrderItem(
        name="Espresso", quantity=2, unit_price=3500, total_amount=7000,
        tax_rate=2500, total_tax_amount=1400,
    )
    session = ok(
        create_session.sync_detailed(
            client=merchant,
            body=CreateSession(
                device_id=device.id, order_amount=7000, purchase_currency="SEK",
                order_items=[item], merchant_reference1="py-flow-1",
            ),
        )
    )
    assert session.status == "CREATED", session.status
    tapped = ok(simulate_tap.sync_detailed(session.session_id, client=merchant))
    assert tapped.result == "SUCCEEDED", tapped.result
    final = ok(get_session.sync_detailed(session.session_id, client=merchant))
    assert final.status == "FINALIZED" and final.order_id, final.status

    order = ok(get_order.sync_detailed(final.order_id, client=merchant))
    assert order.captured_amount == 7000, order.captured_amount
    refunded = ok(
        refund_order.sync_detailed(
            final.order_id, client=merchant,
            body=CreateRefund(refunded_amount=2500, description="one espresso back"),
        ),
        201,
    )
    assert refunded.refunded_amount == 2500, refunded.refunded_amount

    wait_for(lambda: "ipp.session.finalized" in Receiver.got, "the finalized webhook")
    log = ok(list_webhook_deliveries.sync_detailed(endpoint.id, client=merchant))
    assert any(d.status_code == 200 for d in log.content), log
    server.shutdown()
    print(f"python flow: {len(Receiver.got)} webhooks received, order {final.order_id} refunded")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
