"""The password rule (NIST SP 800-63B 3.1.1.2): long enough, and not easy to guess.

"Easy to guess" is zxcvbn's estimate (the package's maintained lists: 30,000 common and
breached passwords, English words, names, keyboard patterns, dates, repeats and sequences),
fed with the words of this context (the app's name, the person's email and name), so that
"tandem2024" or "alex.smith1990" count as guessable. No composition rules, no stripping: a
password is used exactly as typed, spaces included.
"""

import re

from zxcvbn import zxcvbn

from tandem.core.errors import Invalid

MIN_LENGTH = 10
# zxcvbn's score 3: about 10^8 guesses, "safely unguessable" against an online attack and
# costly offline against argon2id.
MIN_GUESSES_LOG10 = 8
# zxcvbn's time grows quickly with length (a 256-character repeat takes most of a second);
# the first characters carry the guessability that matters, and more only adds to it.
ESTIMATE_CHARACTERS = 64
APP_WORDS = ("tandem",)

TOO_SHORT = f"Choose a password of at least {MIN_LENGTH} characters."
PERSONAL = "Your password must not be built from your name, your email or the app's name."
EASY = "This password is too easy to guess. A few unrelated words together work well."


def context_words(*, email: str = "", display_name: str = "") -> list[str]:
    """What an attacker who knows this person tries first."""
    email = email.lower()
    local, _, domain = email.partition("@")
    name = display_name.lower()
    words = {*APP_WORDS, email, local, name, _letters(local), _letters(name)}
    words |= set(re.split(r"[^\w]+|_", f"{local} {domain} {name}"))
    return sorted(word for word in words if len(word) >= 3)


def check_new_password(password: str, *, email: str = "", display_name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid(TOO_SHORT)
    words = context_words(email=email, display_name=display_name)
    letters = _letters(password.lower())
    if letters and letters in {_letters(word) for word in words}:
        raise Invalid(PERSONAL)
    estimate = zxcvbn(password[:ESTIMATE_CHARACTERS], user_inputs=words)
    if estimate["guesses_log10"] >= MIN_GUESSES_LOG10:
        return
    if any(match.get("dictionary_name") == "user_inputs" for match in estimate["sequence"]):
        raise Invalid(PERSONAL)
    raise Invalid(EASY)


def _letters(text: str) -> str:
    """The letters alone: "Alex.Smith-1990!" and "alex smith" both read as "alexsmith"."""
    return "".join(ch for ch in text if ch.isalpha())
