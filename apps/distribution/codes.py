"""The activation code format: 110 random bits and three check characters in Crockford base32,
shown as five groups of five (XXXXX-XXXXX-XXXXX-XXXXX-XXXXX).

The check characters are a Reed-Solomon code over GF(32), one symbol per character: any code
that differs from a valid one in one, two or three characters (a wrong character, two swapped
ones) is always refused, and a random string passes once in 32,768. The alphabet has no I, L, O
or U, and reading tolerates the usual confusions (O→0, I/L→1), case and separators, so a code
read over the phone still works; a mistyped one fails here, before any database lookup.
"""

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_CHARS = 22  # 22 × 5 = 110 bits
CHECK_CHARS = 3  # three Reed-Solomon symbols: every error in up to three characters is caught
LENGTH = RANDOM_CHARS + CHECK_CHARS
GROUP = 5
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}

# GF(32) with the primitive polynomial x^5 + x^2 + 1: log/antilog tables for multiplication.
_EXP = [0] * 62
_LOG = [0] * 32
_x = 1
for _i in range(31):
    _EXP[_i] = _EXP[_i + 31] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0b100000:
        _x ^= 0b100101


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


def _generator() -> list[int]:
    """(x - α)(x - α²)(x - α³), coefficients highest power first."""
    poly = [1]
    for power in range(1, CHECK_CHARS + 1):
        root = _EXP[power]
        poly = [a ^ _mul(b, root) for a, b in zip([*poly, 0], [0, *poly], strict=True)]
    return poly


_GENERATOR = _generator()


class InvalidCode(ValueError):
    pass


def _checksum(payload: str) -> str:
    """The remainder of payload·x³ divided by the generator: the three check characters."""
    remainder = [0] * CHECK_CHARS
    for ch in payload:
        factor = _VALUE[ch] ^ remainder[0]
        remainder = [*remainder[1:], 0]
        for k in range(CHECK_CHARS):
            remainder[k] ^= _mul(_GENERATOR[k + 1], factor)
    return "".join(ALPHABET[v] for v in remainder)


def with_check(payload: str) -> str:
    """A complete code from RANDOM_CHARS alphabet characters."""
    if len(payload) != RANDOM_CHARS or any(ch not in _VALUE for ch in payload):
        raise InvalidCode("payload")
    return payload + _checksum(payload)


def generate() -> str:
    return with_check("".join(secrets.choice(ALPHABET) for _i in range(RANDOM_CHARS)))


def display(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def normalise(raw: str) -> str:
    """The canonical form of what a person typed, or InvalidCode saying what is wrong."""
    if not isinstance(raw, str):
        raise InvalidCode("not text")
    code = "".join(raw.split()).replace("-", "").upper().translate(_CONFUSABLE)
    if len(code) != LENGTH:
        raise InvalidCode("length")
    if any(ch not in _VALUE for ch in code):
        raise InvalidCode("characters")
    if _checksum(code[:RANDOM_CHARS]) != code[RANDOM_CHARS:]:
        raise InvalidCode("checksum")
    return code
