"""The code format: unguessable, grouped for reading, typos caught by the checksum."""

import math

import pytest

from apps.distribution import codes

SAMPLE = codes.with_check("0123456789ABCDEFGHJKMN")  # has every confusable digit


def test_a_code_is_25_characters_shown_in_five_groups_of_five():
    code = codes.generate()
    assert len(code) == 25
    assert set(code) <= set(codes.ALPHABET)
    shown = codes.display(code)
    assert [len(group) for group in shown.split("-")] == [5, 5, 5, 5, 5]
    assert shown.replace("-", "") == code


def test_22_random_base32_characters_carry_at_least_100_bits():
    assert len(codes.ALPHABET) == len(set(codes.ALPHABET)) == 32
    assert codes.RANDOM_CHARS == 22
    assert codes.RANDOM_CHARS * math.log2(len(codes.ALPHABET)) >= 100


def test_every_random_position_takes_many_values_and_codes_do_not_repeat():
    batch = [codes.generate() for _i in range(2000)]
    assert len(set(batch)) == len(batch)
    for position in range(codes.RANDOM_CHARS):
        assert len({code[position] for code in batch}) >= 28, position


def test_a_generated_code_reads_back_as_itself():
    code = codes.generate()
    assert codes.normalise(code) == code
    assert codes.normalise(codes.display(code)) == code


def test_the_checksum_catches_every_single_character_substitution():
    for sample in (SAMPLE, codes.generate(), codes.generate()):
        for position in range(codes.LENGTH):
            for replacement in codes.ALPHABET:
                if replacement == sample[position]:
                    continue
                typo = sample[:position] + replacement + sample[position + 1:]
                with pytest.raises(codes.InvalidCode):
                    codes.normalise(typo)


def test_the_checksum_catches_swapped_neighbours():
    for position in range(codes.LENGTH - 1):
        if SAMPLE[position] == SAMPLE[position + 1]:
            continue
        swapped = SAMPLE[:position] + SAMPLE[position + 1] + SAMPLE[position] + SAMPLE[position + 2:]
        with pytest.raises(codes.InvalidCode):
            codes.normalise(swapped)


@pytest.mark.parametrize("typed", [
    SAMPLE.lower(),
    codes.display(SAMPLE),
    codes.display(SAMPLE).replace("-", " "),
    "  " + codes.display(SAMPLE).lower() + "\n",
    SAMPLE.replace("0", "O"),
    SAMPLE.replace("0", "o"),
    SAMPLE.replace("1", "I"),
    SAMPLE.replace("1", "l"),
    SAMPLE.replace("1", "L"),
])
def test_normalise_tolerates_case_separators_and_confusable_letters(typed):
    assert codes.normalise(typed) == SAMPLE


@pytest.mark.parametrize("typed", [
    "", "hello", SAMPLE[:-1], SAMPLE + "0", SAMPLE[:24] + "*", "Ä" * 25, None, 12345,
])
def test_malformed_input_is_refused(typed):
    with pytest.raises(codes.InvalidCode):
        codes.normalise(typed)
