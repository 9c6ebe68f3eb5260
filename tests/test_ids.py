import re

from hypothesis import given
from hypothesis import strategies as st

from portal.ids import MAX_BIG_ID, MAX_ID, numbers_up_to

LIMITS = [1, 9, 10, 99, 100, 101, 2024, 1_000_000, MAX_ID, MAX_BIG_ID]


@given(st.sampled_from(LIMITS), st.integers(min_value=-(2**70), max_value=2**70))
def test_the_regex_is_exactly_one_to_the_maximum(maximum: int, number: int) -> None:
    matches = re.fullmatch(f"(?:{numbers_up_to(maximum)})", str(number)) is not None
    assert matches == (1 <= number <= maximum)


@given(st.sampled_from(LIMITS), st.integers(min_value=-5, max_value=5))
def test_the_bounds_themselves(maximum: int, offset: int) -> None:
    for number in (maximum + offset, 1 + offset):
        matches = re.fullmatch(f"(?:{numbers_up_to(maximum)})", str(number)) is not None
        assert matches == (1 <= number <= maximum)


@given(st.text(alphabet="0123456789+-_ \u0661\uff11", max_size=25))
def test_one_spelling_per_number(text: str) -> None:
    """No sign, no leading zero, no padding, no digits of other scripts."""
    if re.fullmatch(f"(?:{numbers_up_to(MAX_BIG_ID)})", text):
        assert text == str(int(text))
        assert text.isascii()
