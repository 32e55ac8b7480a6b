"""The password rule: long enough, and not one everybody else uses."""

from functools import lru_cache
from pathlib import Path

from tandem.errors import Invalid

MIN_LENGTH = 10


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line.strip())


def check_new_password(password: str, *, email: str = "", display_name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"Choose a password of at least {MIN_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) <= 2:
        raise Invalid("This password is too common; choose another")
    local_part = email.split("@")[0].lower()
    if lowered in {email.lower(), local_part, display_name.lower()}:
        raise Invalid("Do not use your email or name as your password")
