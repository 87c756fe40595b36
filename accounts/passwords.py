"""Password hashing with argon2 (argon2-cffi) and the password policy."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A hash of a random password: verifying against it when the user does not exist takes as long
# as a real check, so response times do not reveal which usernames exist.
_DUMMY = _hasher.hash("accord-dummy-password-for-timing")
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    """Return an argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Return whether the password matches the hash (spending the same time when there is none)."""
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def policy_problems(password: str, username: str = "") -> list[str]:
    """Return what is wrong with a new password under the policy (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if username and username.lower() in password.lower():
        problems.append("Do not include the username (it is no secret).")
    if len(set(password)) < 5:
        problems.append("Use a greater variety of characters.")
    return problems
