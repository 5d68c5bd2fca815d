"""leads.textsafety: text PostgreSQL cannot store."""
import pytest

from leads.textsafety import unstorable_reason

NUL = "NUL characters (\\u0000) are not allowed."
SURROGATE = "Invalid Unicode: lone surrogate characters are not allowed."


@pytest.mark.parametrize("value, reason", [
    ("", None),
    ("plain ascii, tabs\tand\nnewlines", None),
    ("Müller 张伟 😀", None),
    ("a\x00b", NUL),
    ("Mü\x00ller", NUL),
    ("\ud800", SURROGATE),
    ("ascii then \udfff", SURROGATE),
])
def test_unstorable_reason(value, reason):
    assert unstorable_reason(value) == reason
