"""The ten privacy categories, and which category each detector's finding belongs to.

Categories are what a user turns on and off in `[routing.privacy]` and what `privacy
eval` scores by; finding types are what the detectors know. Secret types come from
detect-secrets and are many, so anything not listed here is authentication.
"""

from __future__ import annotations

from typing import Literal, get_args

Category = Literal[
    "contact",
    "identification",
    "financial",
    "authentication",
    "health",
    "location_network",
    "account_profile",
    "device_incident",
    "media_content",
    "ancillary",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)
# User-configured terms and patterns: always on, whatever the categories say.
CUSTOM = "custom"

_BY_TYPE: dict[str, str] = {
    "email": "contact",
    "person_name": "contact",
    "personal_profile": "account_profile",
    "phone_number": "contact",
    "us_ssn": "identification",
    "passport_number": "identification",
    "licence_number": "identification",
    "employee_id": "identification",
    "national_id": "identification",
    "tax_id": "identification",
    "date_of_birth": "identification",
    "payment_card": "financial",
    "iban": "financial",
    "crypto_address": "financial",
    "salary": "financial",
    "account_number": "financial",
    "health": "health",
    "personal_disclosure": "ancillary",
    "health_id": "health",
    "ip_address": "location_network",
    "mac_address": "location_network",
    "home_address": "location_network",
    "coordinates": "location_network",
    "booking_reference": "location_network",
    "customer_id": "account_profile",
    "social_handle": "account_profile",
    "employment": "account_profile",
    "private_link": "media_content",
    "device_id": "device_incident",
    "custom_term": CUSTOM,
    "custom_pattern": CUSTOM,
}


def category_of(finding_type: str) -> str:
    """The category of a finding type; the learned stage's types are `learned_<category>`."""
    if finding_type.startswith("learned_"):
        return finding_type.removeprefix("learned_")
    return _BY_TYPE.get(finding_type, "authentication")
