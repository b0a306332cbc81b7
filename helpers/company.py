"""Nimbus Devices, the fictional company of the course's support desk: the facts everything else is built on.

The fixed lines of a reply, its categories and the shape of a policy code (helpers/house_style.py
writes and scores replies with them), and the products and customers that support requests name
(helpers/topics.py checks the topics' templates against them; helpers/support_desk.py fills them in).
"""

from __future__ import annotations

import random

COMPANY = "Nimbus Devices"
GREETING = "Hello from Nimbus Support!"
SIGN_OFF = "Best regards, Nimbus Support"
CATEGORIES = ("BILLING", "SHIPPING", "TECHNICAL", "RETURNS", "ACCOUNT")
POLICY_CODE = r"NB-\d{3}"  # the shape of a policy code; the codes themselves are the support desk's topics

# What requests name, filled into the topics' {slots}. A product's full name goes in answers; casual requests use the short one.
PRODUCTS = (
    ("Nimbus Thermostat", "thermostat"),
    ("Nimbus Router", "router"),
    ("Nimbus Camera", "camera"),
    ("Nimbus Doorbell", "doorbell"),
    ("Nimbus Smart Plug", "smart plug"),
)
FIRMWARE = {
    "Nimbus Thermostat": "3.2",
    "Nimbus Router": "5.1",
    "Nimbus Camera": "2.8",
    "Nimbus Doorbell": "1.9",
    "Nimbus Smart Plug": "1.4",
}
NAMES = (
    "Maya", "Liam", "Aisha", "Tom", "Sofia", "Kenji", "Priya", "Lucas", "Fatima", "Noah",
    "Elena", "Omar", "Grace", "Mateo", "Hana", "Jonas", "Zara", "Diego", "Ingrid", "Kwame",
    "Chloe", "Ravi", "Nora", "Pablo",
)
AMOUNTS = ("$19.99", "$24.50", "$49.00", "$59.99", "$89.00", "$99.99", "$129.00", "$149.95")
CITIES = (
    "Leeds", "Austin", "Lyon", "Porto", "Dublin", "Denver", "Utrecht", "Osaka", "Nairobi",
    "Toronto", "Perth", "Bergen",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")


def draw_slots(rng: random.Random) -> dict[str, str]:
    """Return random slot values (name, product, order number, ...) for one request."""
    name = rng.choice(NAMES)
    product, device = rng.choice(PRODUCTS)
    # Draw every slot every time, so the random stream does not depend on the topic.
    return {
        "name": name,
        "product": product,
        "device": device,
        "version": FIRMWARE[product],
        "order": str(rng.randint(10000, 99999)),
        "amount": rng.choice(AMOUNTS),
        "last4": f"{rng.randint(0, 9999):04d}",
        "city": rng.choice(CITIES),
        "email": f"{name.lower()}{rng.randint(10, 99)}@{rng.choice(EMAIL_DOMAINS)}",
    }


# Read from draw_slots itself, so the slots a template may use cannot drift from the ones the generator fills in.
SLOTS = frozenset(draw_slots(random.Random(0)))

