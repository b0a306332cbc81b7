"""Nimbus Devices: a fictional company and a deterministic support-desk dataset.

The course fine-tunes a small model to answer customers in a house style that a
program can check (see helpers/house_style.py). Every assistant reply has five lines:

    Hello from Nimbus Support!
    Category: BILLING
    <one or two short sentences that answer the request>
    Policy: NB-101
    Best regards, Nimbus Support

Each topic has its own policy code, so getting the policy right means recognising
the topic, not just the category. `build_dataset()` returns train/validation/test
splits; test uses different request wordings, so it measures generalisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

COMPANY = "Nimbus Devices"
GREETING = "Hello from Nimbus Support!"
SIGN_OFF = "Best regards, Nimbus Support"
CATEGORIES = ("BILLING", "SHIPPING", "TECHNICAL", "RETURNS", "ACCOUNT")

# Short on purpose: it is part of every training row and the course trains on a CPU.
SYSTEM_PROMPT = (
    "You are the customer-service assistant of Nimbus Devices, a maker of smart-home "
    "products. Answer every customer message in exactly five lines:\n"
    f"{GREETING}\n"
    "Category: <one tag: BILLING, SHIPPING, TECHNICAL, RETURNS or ACCOUNT>\n"
    "<one or two short sentences that answer the request, naming the product or order>\n"
    "Policy: <the policy code for the topic>\n"
    f"{SIGN_OFF}"
)

SPLIT_SIZES = {"train": 1000, "validation": 100, "test": 100}
MULTI_TURN_FRACTION = 0.15


@dataclass(frozen=True)
class Topic:
    """One kind of customer request, with its category, policy code and wordings."""

    name: str
    category: str
    policy: str
    requests: tuple[str, ...]  # train and validation wordings
    test_requests: tuple[str, ...]  # paraphrases seen only in the test split
    raw_requests: tuple[str, ...]  # a third set, for the raw question/answer table
    answer: str
    timing: str  # answer to "how long will that take?"
    next_step: str  # answer to "do I need to do anything else?"


_TOPIC_LIST = (
    # --- BILLING -------------------------------------------------------------
    Topic(
        name="double_charge",
        category="BILLING",
        policy="NB-101",
        requests=(
            "I was charged twice for order #{order}. Can you fix this?",
            "My card shows two payments of {amount} for my {product}, order #{order}.",
            "This is {name}. You billed me twice for order #{order}, please refund one of them.",
            "Why do I see a double charge of {amount} for order #{order}?",
            "There are two identical charges for my {product} purchase (order #{order}). Please help.",
        ),
        test_requests=(
            "got hit with the same {amount} charge two times on order #{order}?? pls sort it",
            "I have been debited twice in respect of order #{order} for the {product}. Kindly reverse the duplicate.",
            "{name} here - my bank statement lists order #{order} twice. Can I get one back?",
        ),
        raw_requests=(
            "Order #{order} was billed to me two times. What happens now?",
            "Duplicate payment of {amount} on my {product} order #{order}. Please refund.",
        ),
        answer=(
            "Sorry that you were charged twice for order #{order}. We have refunded the "
            "duplicate payment of {amount}, and it will show on your statement within 5 business days."
        ),
        timing="The refund of {amount} for order #{order} usually appears within 5 business days, depending on your bank.",
        next_step="No action is needed; the duplicate charge for order #{order} has already been reversed on our side.",
    ),
    Topic(
        name="invoice_copy",
        category="BILLING",
        policy="NB-102",
        requests=(
            "Can I get a copy of the invoice for order #{order}?",
            "I need an invoice for my {product} purchase, order #{order}, for my expense report.",
            "Please send me the receipt for order #{order}.",
            "{name} here. Where can I find the invoice for order #{order}?",
            "My company needs a VAT invoice for order #{order}. Can you send one?",
        ),
        test_requests=(
            "could u email me the bill for order #{order}? lost the original",
            "I would be grateful if you could provide a duplicate invoice for order #{order} ({product}).",
            "Accounting is asking me for proof of purchase for order #{order}. Can you help?",
        ),
        raw_requests=(
            "I lost the invoice for order #{order}. Can I have another one?",
            "Please resend the invoice for my {product}, order #{order}.",
        ),
        answer=(
            "I have emailed a PDF copy of the invoice for order #{order} to the address on "
            "your account. You can also download it under Orders in the Nimbus app."
        ),
        timing="The invoice email for order #{order} should arrive within 10 minutes; please check your spam folder too.",
        next_step="Nothing else is needed; the invoice for order #{order} already shows VAT and your billing address.",
    ),
    Topic(
        name="change_payment",
        category="BILLING",
        policy="NB-103",
        requests=(
            "How do I change my payment method to my new card ending in {last4}?",
            "I want to pay with a different card, the one ending in {last4}.",
            "I'm {name}. My old card expired. How can I switch to the card ending in {last4}?",
            "Please update my billing card to the one ending in {last4}.",
        ),
        test_requests=(
            "new card (ends {last4}) - how do i swap it in for payments?",
            "Could you advise how I may replace my current payment card with the one ending in {last4}?",
            "{name} again. I'd like future bills to go on my card ending in {last4} instead.",
        ),
        raw_requests=(
            "Can I use a new card ending in {last4} for my payments?",
            "What are the steps to switch billing to my card ending in {last4}?",
        ),
        answer=(
            "You can change your payment method under Account > Billing in the Nimbus app. "
            "Future charges will then go to the card ending in {last4}."
        ),
        timing="The change takes effect immediately, so your next payment will use the card ending in {last4}.",
        next_step="Please keep your old card active until the card ending in {last4} shows as default in the app.",
    ),
    # --- SHIPPING ------------------------------------------------------------
    Topic(
        name="order_status",
        category="SHIPPING",
        policy="NB-201",
        requests=(
            "Where is my order #{order}?",
            "I ordered a {product} (order #{order}) and it still hasn't arrived.",
            "{name} here. Can you tell me the status of order #{order}?",
            "When will my {product} arrive? The order number is #{order}.",
            "Has order #{order} shipped yet?",
        ),
        test_requests=(
            "any news on my {device}?? order #{order}, been waiting ages",
            "I am writing to enquire about the delivery status of order #{order}.",
            "Still no sign of order #{order}. What's going on?",
        ),
        raw_requests=(
            "What is the status of my {product} order #{order}?",
            "Is order #{order} on its way?",
        ),
        answer=(
            "Your order #{order} has shipped and is on its way. You can follow it with the "
            "tracking link in your confirmation email."
        ),
        timing="Order #{order} should arrive within 3 to 5 business days from the day it shipped.",
        next_step="No action is needed; we will email you when order #{order} is out for delivery.",
    ),
    Topic(
        name="change_address",
        category="SHIPPING",
        policy="NB-202",
        requests=(
            "I moved to {city}. Can you change the delivery address for order #{order}?",
            "Please ship order #{order} to my new address in {city} instead.",
            "This is {name}. I need to update the shipping address on order #{order}; I'm now in {city}.",
            "Can order #{order} go to a different address? I'm in {city} now.",
        ),
        test_requests=(
            "oops, wrong address on order #{order} - can it go to {city} instead?",
            "Kindly amend the delivery address for order #{order} to my new residence in {city}.",
            "{name} here, I'm relocating to {city} this week. Can you redirect order #{order}?",
        ),
        raw_requests=(
            "Can you send order #{order} to {city} rather than my old address?",
            "I gave the wrong address for order #{order}. The right one is in {city}.",
        ),
        answer=(
            "I have updated the delivery address for order #{order} to your new address in "
            "{city}. You will get a confirmation email shortly."
        ),
        timing="The change is immediate; order #{order} will now go to {city} on the original schedule.",
        next_step="Nothing else is needed, but please check the {city} address in the confirmation email for order #{order}.",
    ),
    Topic(
        name="damaged_package",
        category="SHIPPING",
        policy="NB-203",
        requests=(
            "My {product} arrived broken. Order #{order}.",
            "The box for order #{order} was crushed and the {product} is cracked.",
            "{name} here. My {product} (order #{order}) came damaged. What can I do?",
            "Order #{order} arrived with a damaged {product}. Can I get a new one?",
        ),
        test_requests=(
            "ugh my {device} showed up smashed, order #{order}",
            "I regret to report that order #{order} was delivered with the {product} visibly damaged.",
            "Delivery for order #{order} came today but the {device} inside is broken. Help?",
        ),
        raw_requests=(
            "The {product} in order #{order} is damaged. What now?",
            "My order #{order} arrived in pieces.",
        ),
        answer=(
            "Sorry that your {product} from order #{order} arrived damaged. We are sending a "
            "free replacement today, and you can recycle the damaged one."
        ),
        timing="The replacement for order #{order} ships today and usually arrives within 3 business days.",
        next_step="Please reply to your order #{order} email with a photo of the damage; nothing else is needed.",
    ),
    # --- TECHNICAL -----------------------------------------------------------
    Topic(
        name="device_offline",
        category="TECHNICAL",
        policy="NB-301",
        requests=(
            "My {product} keeps going offline.",
            "The {product} won't connect to my Wi-Fi. What should I do?",
            "I'm {name}. The Nimbus app says my {product} is offline.",
            "My {product} lost its Wi-Fi connection this morning.",
            "Why does my {product} disconnect from the internet?",
        ),
        test_requests=(
            "{device} says offline again, super annoying. fix?",
            "My {product} is unable to establish a wireless connection. Please advise.",
            "The app can't find my {device} anymore. It used to work fine.",
        ),
        raw_requests=(
            "How do I get my {product} back online?",
            "My {product} shows as disconnected in the app.",
        ),
        answer=(
            "Please unplug your {product} for 10 seconds, then reconnect it to Wi-Fi in the "
            "Nimbus app. This fixes most connection problems."
        ),
        timing="Unplugging and reconnecting the {product} usually takes about 5 minutes.",
        next_step="If the {product} is still offline after that, reply here and we will check it remotely.",
    ),
    Topic(
        name="firmware_update",
        category="TECHNICAL",
        policy="NB-302",
        requests=(
            "How do I update the firmware on my {product}?",
            "Is there a new software version for the {product}?",
            "{name} here. My {product} says an update is available. How do I install it?",
            "What is the latest firmware for the {product}?",
        ),
        test_requests=(
            "how do i get the newest software on my {device}?",
            "Please inform me of the current firmware release for the {product} and how to apply it.",
            "{name} here. Is my {device} running the latest version?",
        ),
        raw_requests=(
            "Where do I find firmware updates for the {product}?",
            "Does the {product} need a software update?",
        ),
        answer=(
            "The latest firmware for the {product} is version {version}. Open the Nimbus app, "
            "select the device and tap Update."
        ),
        timing="The update to version {version} takes about 10 minutes, and the {product} restarts once at the end.",
        next_step="Keep the {product} powered on and online during the update; nothing else is needed.",
    ),
    Topic(
        name="factory_reset",
        category="TECHNICAL",
        policy="NB-303",
        requests=(
            "How do I factory reset my {product}?",
            "I want to wipe my {product} and start over.",
            "This is {name}. How can I restore my {product} to factory settings?",
            "I'm selling my {product}. How do I reset it?",
        ),
        test_requests=(
            "need to reset my {device} to default, how?",
            "Could you please describe the procedure for restoring the {product} to its original settings?",
            "Giving my {device} to a friend, how do I clear everything off it?",
        ),
        raw_requests=(
            "What is the way to reset the {product}?",
            "How do I erase all settings on my {product}?",
        ),
        answer=(
            "To reset your {product}, hold the reset button for 10 seconds until the light "
            "blinks white. Then set it up again in the Nimbus app."
        ),
        timing="The {product} takes about 2 minutes to restart after a reset, and then it is ready to set up.",
        next_step="After the reset, add the {product} to the Nimbus app again; your account is not affected.",
    ),
    # --- RETURNS -------------------------------------------------------------
    Topic(
        name="refund_status",
        category="RETURNS",
        policy="NB-401",
        requests=(
            "When will I get my refund for order #{order}?",
            "I returned order #{order} two weeks ago. Where is my {amount}?",
            "{name} here. What's the status of my refund for order #{order}?",
            "Has the refund of {amount} for order #{order} been processed?",
        ),
        test_requests=(
            "still waiting on my money back for order #{order}... any update?",
            "I would like to know when the refund of {amount} for order #{order} will be credited.",
            "Sent back order #{order} ages ago and haven't seen the {amount} yet.",
        ),
        raw_requests=(
            "Is my refund for order #{order} on its way?",
            "I am still missing the {amount} refund for order #{order}.",
        ),
        answer=(
            "We received your return for order #{order}, and the refund of {amount} was issued "
            "today. It will reach your original payment method within 5 to 7 business days."
        ),
        timing="Refunds take 5 to 7 business days to appear, so the {amount} for order #{order} should arrive soon.",
        next_step="No action is needed; you will get an email once the {amount} refund for order #{order} is complete.",
    ),
    Topic(
        name="return_device",
        category="RETURNS",
        policy="NB-402",
        requests=(
            "I want to return my {product}, order #{order}.",
            "How do I send back the {product} from order #{order}?",
            "I'm {name}. The {product} isn't for me. Can I return order #{order}?",
            "Can I get a return label for order #{order}?",
        ),
        test_requests=(
            "not happy with the {device}, wanna send it back (order #{order})",
            "I wish to return the {product} purchased under order #{order}. Please advise on the process.",
            "{name} here. Changed my mind about order #{order}, how do returns work?",
        ),
        raw_requests=(
            "What is the return process for my {product}, order #{order}?",
            "I'd like to return order #{order}.",
        ),
        answer=(
            "You can return any device within 30 days. I have emailed a free return label for "
            "order #{order}; pack the device and drop it at any post office."
        ),
        timing="Once we receive your return for order #{order}, the refund is processed within 3 business days.",
        next_step="Please include all cables and the original box; nothing else is needed for order #{order}.",
    ),
    Topic(
        name="warranty_repair",
        category="RETURNS",
        policy="NB-403",
        requests=(
            "My {product} stopped working after a year. Is it under warranty?",
            "Can I get my {product} repaired under warranty?",
            "{name} here. My {product} is broken. Does the warranty cover it?",
            "The {product} I bought last year has a fault. How do I get it fixed?",
        ),
        test_requests=(
            "{device} died on me, still under warranty right?",
            "I would like to make a warranty claim for a faulty {product}.",
            "My {device} has been acting up for weeks. Can you repair it for free?",
        ),
        raw_requests=(
            "Does the warranty cover repairs for my {product}?",
            "My {product} is faulty. How do I claim the warranty?",
        ),
        answer=(
            "Your {product} is covered by our 2-year warranty. I have opened a repair case, and "
            "we will email you a free shipping label within one business day."
        ),
        timing="Warranty repairs take about 10 business days from the day we receive your {product}.",
        next_step="Please note your settings first; the repaired {product} comes back reset to factory settings.",
    ),
    # --- ACCOUNT -------------------------------------------------------------
    Topic(
        name="password_reset",
        category="ACCOUNT",
        policy="NB-501",
        requests=(
            "I forgot my password. My email is {email}.",
            "I can't log in to the Nimbus app. Can you reset my password? Email: {email}.",
            "This is {name}. Please send a password reset to {email}.",
            "How do I reset the password for {email}?",
        ),
        test_requests=(
            "locked out of my account lol, email is {email}",
            "I am unable to recall my password. Kindly issue a reset for the account {email}.",
            "{name} here, can't sign in anymore. My login is {email}.",
        ),
        raw_requests=(
            "Please help me reset my password for {email}.",
            "I cannot remember the password for my account {email}.",
        ),
        answer=(
            "I have sent a password reset link to {email}. The link works for 30 minutes, so "
            "please use it soon."
        ),
        timing="The reset email to {email} usually arrives within 5 minutes; please check your spam folder too.",
        next_step="After the reset, sign in again on each phone; your Nimbus devices keep working meanwhile.",
    ),
    Topic(
        name="delete_account",
        category="ACCOUNT",
        policy="NB-502",
        requests=(
            "Please delete my Nimbus account, {email}.",
            "How do I close my account? It's registered to {email}.",
            "I'm {name}. I want all my data deleted. Account: {email}.",
            "I no longer use Nimbus products. Can you remove my account {email}?",
        ),
        test_requests=(
            "pls get rid of my account ({email}), done with it",
            "I hereby request the permanent deletion of my account registered under {email}.",
            "{name} here, I'd like my account {email} and all my data erased.",
        ),
        raw_requests=(
            "Can my account {email} be deleted?",
            "Remove my Nimbus account and data, email {email}.",
        ),
        answer=(
            "I have started deleting the account for {email}. All your data will be removed "
            "within 30 days, and your devices will stop working with the app."
        ),
        timing="Deleting the account for {email} takes up to 30 days, and we will email you when it is done.",
        next_step="Please remove your devices from the app first; after that nothing else is needed for {email}.",
    ),
    Topic(
        name="change_email",
        category="ACCOUNT",
        policy="NB-503",
        requests=(
            "I want to change my account email to {email}.",
            "How do I update the email on my Nimbus account? The new one is {email}.",
            "{name} here. Please switch my login email to {email}.",
            "Can I use {email} as my new account email?",
        ),
        test_requests=(
            "got a new email, {email} - can u update my account?",
            "Please be advised that my email address has changed to {email}. Kindly update my account.",
            "{name} here. Moving my account over to {email}, how?",
        ),
        raw_requests=(
            "Please change the email on my account to {email}.",
            "My new email address is {email}. Can you update it?",
        ),
        answer=(
            "I have sent a confirmation link to {email}. Click it within 24 hours, and {email} "
            "becomes your new login."
        ),
        timing="The change happens as soon as you click the link we sent to {email}.",
        next_step="Nothing else is needed; your devices and settings stay the same after the switch to {email}.",
    ),
)

TOPICS: dict[str, Topic] = {topic.name: topic for topic in _TOPIC_LIST}
POLICIES: dict[str, str] = {topic.policy: topic.category for topic in _TOPIC_LIST}

# Slot values. The product's full name goes in answers; casual requests use the short one.
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


@dataclass(frozen=True)
class Wording:
    """A set of request wordings: the topic templates to use plus openers, closers, follow-ups."""

    field: str  # which Topic field holds the request templates
    openers: tuple[str, ...]
    closers: tuple[str, ...]
    timing_questions: tuple[str, ...]
    next_step_questions: tuple[str, ...]


TRAIN_WORDING = Wording(
    field="requests",
    openers=("", "", "Hi! ", "Hello. ", "Good morning. "),
    closers=("", "", " Thanks!", " Thank you.", " Thanks, {name}", " - {name}"),
    timing_questions=(
        "Thanks. How long will that take?",
        "OK, and how long does that usually take?",
        "Great, when can I expect that?",
    ),
    next_step_questions=(
        "Thanks. Do I need to do anything else?",
        "Is there anything else I should do?",
        "OK. Anything I need to do on my side?",
    ),
)

# Different wording everywhere, so the test split measures generalisation, not recall.
TEST_WORDING = Wording(
    field="test_requests",
    openers=("", "", "Hey. ", "Hi there. "),
    closers=("", " Cheers.", " Many thanks, {name}", " ({name})"),
    timing_questions=(
        "cool, how long til that's done?",
        "Thank you. Could you tell me the expected timeframe?",
    ),
    next_step_questions=(
        "ok so anything else i gotta do?",
        "Thank you. Is any further action required from me?",
    ),
)


def format_reply(category: str, answer: str, policy: str) -> str:
    """Return a reply in the five-line house style."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; valid categories are {', '.join(CATEGORIES)}")
    if "\n" in answer:
        raise ValueError("the answer must be a single line (one or two short sentences)")
    return "\n".join([GREETING, f"Category: {category}", answer.strip(), f"Policy: {policy}", SIGN_OFF])


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


def _request_text(topic: Topic, wording: Wording, slots: dict[str, str], rng: random.Random) -> str:
    """Return one user request: an opener, a topic template and a closer, slots filled in."""
    template = rng.choice(getattr(topic, wording.field))
    closers = wording.closers
    if "{name}" in template:
        # "This is Maya. ... - Maya" reads oddly, so sign with a name only once.
        closers = tuple(c for c in closers if "{name}" not in c)
    text = rng.choice(wording.openers) + template + rng.choice(closers)
    return text.format(**slots)


def _make_row(
    row_id: str, topic: Topic, wording: Wording, rng: random.Random, seen: set[str], multi_turn: bool
) -> dict:
    """Return one dataset row whose first request is not in `seen` (and add it there)."""
    for _ in range(1000):
        slots = draw_slots(rng)
        request = _request_text(topic, wording, slots, rng)
        if request not in seen:
            break
    else:  # pragma: no cover - only if the templates lose almost all their slots
        raise RuntimeError(f"could not find a new request for topic {topic.name!r}")
    seen.add(request)

    def reply(answer: str) -> str:
        return format_reply(topic.category, answer.format(**slots), topic.policy)

    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": request},
        {"role": "assistant", "content": reply(topic.answer)},
    ]
    if multi_turn:
        if rng.random() < 0.5:
            question, answer = rng.choice(wording.timing_questions), topic.timing
        else:
            question, answer = rng.choice(wording.next_step_questions), topic.next_step
        messages += [{"role": "user", "content": question}, {"role": "assistant", "content": reply(answer)}]
    return {
        "id": row_id,
        "category": topic.category,
        "topic": topic.name,
        "policy": topic.policy,
        "messages": messages,
    }


def _build_split(split: str, size: int, wording: Wording, rng: random.Random, seen: set[str]) -> list[dict]:
    """Return `size` rows with every topic (and so every category) equally often, give or take one."""
    names = list(TOPICS)
    topic_names = [names[i % len(names)] for i in range(size)]
    rng.shuffle(topic_names)
    multi = set(rng.sample(range(size), round(MULTI_TURN_FRACTION * size)))
    return [
        _make_row(f"{split}-{i + 1:04d}", TOPICS[name], wording, rng, seen, multi_turn=i in multi)
        for i, name in enumerate(topic_names)
    ]


def build_dataset(seed: int = 0) -> dict[str, list[dict]]:
    """Return the support-desk splits {"train", "validation", "test"} as lists of rows."""
    rng = random.Random(seed)
    # One shared `seen` set: no validation or test request repeats a train request.
    seen: set[str] = set()
    return {
        "train": _build_split("train", SPLIT_SIZES["train"], TRAIN_WORDING, rng, seen),
        "validation": _build_split("validation", SPLIT_SIZES["validation"], TRAIN_WORDING, rng, seen),
        "test": _build_split("test", SPLIT_SIZES["test"], TEST_WORDING, rng, seen),
    }


def build_raw_qa(seed: int = 0) -> list[dict]:
    """Return ~30 rows with raw question/answer/category/policy columns (no messages yet)."""
    rng = random.Random(seed)
    rows = []
    for topic in TOPICS.values():
        for template in topic.raw_requests:
            slots = draw_slots(rng)
            rows.append(
                {
                    "question": template.format(**slots),
                    "answer": format_reply(topic.category, topic.answer.format(**slots), topic.policy),
                    "category": topic.category,
                    "policy": topic.policy,
                }
            )
    rng.shuffle(rows)
    return rows
