"""Each finder alone, on written and spoken forms, with what it must leave alone."""
from __future__ import annotations

import pytest

from diaryroom.domain.redaction import Span
from diaryroom.pii.addresses import find_addresses
from diaryroom.pii.birth import find_dates_of_birth
from diaryroom.pii.cued import find_codes, find_cued, find_domains, find_old_dates
from diaryroom.pii.emails import find_spoken_emails
from diaryroom.pii.identifiers import (
    find_identifiers,
    is_nino,
    is_postcode,
    is_uk_phone,
    nhs_checksum_ok,
)
from diaryroom.pii.local import LocalName, drop_allowed, find_local_names
from diaryroom.pii.names import find_names, recase
from diaryroom.pii.organisations import find_organisations
from diaryroom.pii.recognisers import FinderRecognizer, OfflineEmailRecognizer


def found(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(text[s.start:s.end], s.type) for s in spans]


# --- phone, NHS, NI, postcode, digit runs -----------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("call me on 07700 900123 ok", [("07700 900123", "PHONE")]),
    ("or +44 7700 900123 ok", [("+44 7700 900123", "PHONE")]),
    ("office 020 7946 0018 ok", [("020 7946 0018", "PHONE")]),
    ("ring (0161) 496 0000 ok", [("(0161) 496 0000", "PHONE")]),
    ("it's oh seven seven double oh nine hundred one two three yeah",
     [("oh seven seven double oh nine hundred one two three", "PHONE")]),
    ("zero seven seven zero zero nine zero zero one two three",
     [("zero seven seven zero zero nine zero zero one two three", "PHONE")]),
    ("Oh, seven, seven, double oh, nine hundred, one two three.",
     [("Oh, seven, seven, double oh, nine hundred, one two three", "PHONE")]),
    ("07700 nine double oh one two three", [("07700 nine double oh one two three", "PHONE")]),
])
def test_phone_numbers(text: str, expected: list) -> None:
    assert found(text, find_identifiers(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("nhs number 943 476 5919 thanks", [("943 476 5919", "NHS_NUMBER")]),
    ("nhs number 943-476-5919", [("943-476-5919", "NHS_NUMBER")]),
    ("nine four three four seven six five nine one nine",
     [("nine four three four seven six five nine one nine", "NHS_NUMBER")]),
    # Ten digits failing the modulus-11 check are still redacted, as a number.
    ("nhs number 943 476 5918 thanks", [("943 476 5918", "NUMBER")]),
])
def test_nhs_numbers(text: str, expected: list) -> None:
    assert found(text, find_identifiers(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("my NI is AB 12 34 56 C ok", [("AB 12 34 56 C", "NI_NUMBER")]),
    ("my ni is ab123456c", [("ab123456c", "NI_NUMBER")]),
    ("a b one two three four five six c", [("a b one two three four five six c", "NI_NUMBER")]),
    # HMRC's printed example breaks the prefix rules (no Q): redacted, but as a number.
    ("QQ 12 34 56 C", [("QQ 12 34 56 C", "NUMBER")]),
    ("q q one two three four five six c", [("q q one two three four five six c", "NUMBER")]),
])
def test_national_insurance_numbers(text: str, expected: list) -> None:
    assert found(text, find_identifiers(text)) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("postcode SW1A 1AA please", [("SW1A 1AA", "POSTCODE")]),
    ("postcode m1 1ae please", [("m1 1ae", "POSTCODE")]),
    ("it's s w one a one a a", [("s w one a one a a", "POSTCODE")]),
    ("it's m one one a e", [("m one one a e", "POSTCODE")]),
    ("it's em one one ay ee", [("em one one ay ee", "POSTCODE")]),
    ("it's ess double-u one ay one ay ay", [("ess double-u one ay one ay ay", "POSTCODE")]),
    ("LS1 4AP, M1 1AE", [("LS1 4AP", "POSTCODE"), ("M1 1AE", "POSTCODE")]),
])
def test_postcodes(text: str, expected: list) -> None:
    assert found(text, find_identifiers(text)) == expected


def test_a_phone_number_inside_a_longer_digit_run_takes_the_whole_run() -> None:
    text = "card number oh five eight four two two one nine seven seven three oh if lost"
    assert found(text, find_identifiers(text)) == [
        ("oh five eight four two two one nine seven seven three oh", "PHONE")]


@pytest.mark.parametrize(("text", "expected"), [
    ("account 12345678 ok", [("12345678", "NUMBER")]),
    ("sort code 20-00-00", [("20-00-00", "NUMBER")]),
    ("one two three four five six", [("one two three four five six", "NUMBER")]),
    ("passport AB1234567", [("AB1234567", "NUMBER")]),
])
def test_long_digit_runs(text: str, expected: list) -> None:
    assert found(text, find_identifiers(text)) == expected


@pytest.mark.parametrize("text", [
    "back in 2019 I was in a bad way",
    "in nineteen eighty five",
    "it cost five hundred pounds",
    "it cost 150000 pounds",
    "a hundred and twenty thousand quid",
    "I owe £250,000 and 1,250,000",
    "2019 2020 were bad years, twenty twenty three too",
    "I will go, may I? 3 kids, 12 years",
    "on 12/03/2024 I went to court",
    "call 999",
    "one more time",
])
def test_years_money_and_small_numbers_are_not_identifiers(text: str) -> None:
    assert find_identifiers(text) == []


def test_outside_english_only_digits_and_capitals_count() -> None:
    text = "mój numer 07700 900123, siedem siedem siedem"
    assert found(text, find_identifiers(text, spoken=False)) == [("07700 900123", "PHONE")]


def test_validators() -> None:
    assert nhs_checksum_ok("9434765919") and not nhs_checksum_ok("9434765918")
    assert not nhs_checksum_ok("943476591")
    assert is_nino("AB123456C") and not is_nino("AB123456E")
    assert not is_nino("GB123456A") and not is_nino("AO123456A")  # banned prefix, bad 2nd
    assert is_postcode("GIR0AA") and is_postcode("EC1A1BB") and not is_postcode("SW1A")
    assert is_uk_phone("07700900123") and is_uk_phone("447700900123")
    assert not is_uk_phone("0770090012") and not is_uk_phone("12345678901")


# --- emails ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("it's john dot smith at gmail dot com", "john dot smith at gmail dot com"),
    ("j smith underscore ninety at hotmail dot co dot uk", "j smith underscore ninety at "
     "hotmail dot co dot uk"),
    ("sandra ninety nine at yahoo dot co dot uk", "sandra ninety nine at yahoo dot co dot uk"),
    ("write to kev at btinternet dot com", "kev at btinternet dot com"),
    ("mine is john.smith@gmail.com ok", "john.smith@gmail.com"),
    # Webmail local parts may be plain words with spaces; split provider names are joined.
    ("send it to shauny boy at hotmail dot com ta", "shauny boy at hotmail dot com"),
    ("i use big mike one nine seven seven at outlook dot com", "big mike one nine seven "
     "seven at outlook dot com"),
    ("write this down kerry ann dot b at bt internet dot com", "kerry ann dot b at bt "
     "internet dot com"),
])
def test_spoken_emails(text: str, expected: str) -> None:
    assert found(text, find_spoken_emails(text)) == [(expected, "EMAIL")]


@pytest.mark.parametrize("text", [
    "I was at tesco dot com", "meet me at home", "write to me at outlook dot com",
    "at the dot of nine", "sam at gmail dot nonsense", "send it to me at hot mail dot com",
])
def test_not_emails(text: str) -> None:
    assert find_spoken_emails(text) == []


def test_plain_words_before_an_address_stop_at_cue_words_and_count() -> None:
    text = "i use my mate big mike jones at gmail dot com"
    assert found(text, find_spoken_emails(text)) == [("big mike jones at gmail dot com",
                                                     "EMAIL")]
    text = "my work one is dave jones at acme dot co dot uk"  # not webmail: no plain words
    assert found(text, find_spoken_emails(text)) == [("jones at acme dot co dot uk", "EMAIL")]


def test_presidio_email_recogniser_validates_offline() -> None:
    recogniser = OfflineEmailRecognizer()
    text = "mail john.smith@gmail.com or x@y.notarealtld"
    results = recogniser.analyze(text, ["EMAIL_ADDRESS"])
    assert [(text[r.start:r.end], r.score) for r in results] == [("john.smith@gmail.com", 1.0)]


# --- addresses ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("I lived at 14 Acacia Avenue then", [("14 Acacia Avenue", "ADDRESS")]),
    ("flat 3, 22 mill lane", [("flat 3, 22 mill lane", "ADDRESS")]),
    ("number forty two church street", [("forty two church street", "ADDRESS")]),
    ("at twenty two baker street", [("twenty two baker street", "ADDRESS")]),
    ("at 10b high st", [("10b high st", "ADDRESS")]),
    ("I sleep on Mill Lane most nights", [("Mill Lane", "PLACE")]),
    ("The High Street was busy", [("High Street", "PLACE")]),
    ("I'm in Room 4, 118 Harehills Lane", [("Room 4, 118 Harehills Lane", "ADDRESS")]),
    ("at five barley mow passage in chiswick", [("five barley mow passage", "ADDRESS")]),
    ("from flat six twelve heaton park road", [("flat six twelve heaton park road",
                                                "ADDRESS")]),
    ("at 3 Kings Rise", [("3 Kings Rise", "ADDRESS")]),
    # Lower-case streets with no number, after "on", "down"...: not "lane", "way", "park".
    ("the mosque on leeds road does food", [("leeds road", "PLACE")]),
    ("sleeping on briggate", [("briggate", "PLACE")]),
])
def test_addresses(text: str, expected: list) -> None:
    assert found(text, find_addresses(text)) == expected


@pytest.mark.parametrize("text", [
    "I walked 5 miles up the hill", "3 days in the park", "I've got one big green",
    "2 years close to it", "one way or another", "I sleep on mill lane",
    "we sat on the road", "it was on my way", "down memory lane", "a 360 view", "on one road",
])
def test_not_addresses(text: str) -> None:
    assert find_addresses(text) == []


# --- dates of birth ----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("date of birth 12/03/1985.", "12/03/1985"),
    ("I was born on 12th of March 1985 in Hull", "12th of March 1985"),
    ("my birthday is the twelfth of march nineteen eighty five", "twelfth of march nineteen "
     "eighty five"),
    ("DOB: march twelfth eighty five ok", "march twelfth eighty five"),
    ("d.o.b. 1st Jan 90", "1st Jan 90"),
    ("born in march 1985", "march 1985"),
    ("born on the twenty first of june two thousand and two", "twenty first of june two "
     "thousand and two"),
    # Numeric dates said aloud.
    ("i was born nine nine ninety three, the", "nine nine ninety three"),
    ("d o b is eight three eighty seven ok", "eight three eighty seven"),
    ("date of birth third of the seventh seventy nine", "third of the seventh seventy nine"),
    ("dob the 21st of the 11th 1990", "21st of the 11th 1990"),
    # Whisper (base, hibari's voice) wrote the speaker's pause as a comma.
    ("Date of Birth 5, May 1999 postcode", "5, May 1999"),
    # After a form's cue, a day and month Whisper garbled (espeak-ng, base) are taken
    # with the year, and so is the cue it garbled.
    ("made on birth, I've made 1999 post code", "I've made 1999"),
    ("date of birth is fit of me nineteen ninety nine", "is fit of me nineteen "
     "ninety nine"),
    ("d o b 1987 thanks", "1987"),
])
def test_dates_of_birth(text: str, expected: str) -> None:
    assert found(text, find_dates_of_birth(text)) == [(expected, "DATE_OF_BIRTH")]


@pytest.mark.parametrize("text", [
    "on the 12th of March 1985 I moved",  # a date, but nobody was born
    "I was born in 1985",  # a year alone
    "born in nineteen eighty five",
    "it was my birthday on saturday",
    "my birthday is in march",
    "nine nine ninety three",  # the numeric form needs a birth cue too
    "born in twenty twelve",
    "they put me on birth control in 2010",
    "date of birth? I don't know what they wrote down in 1999 or after",  # too far
    "my place of birth was Leeds",
])
def test_not_dates_of_birth(text: str) -> None:
    assert find_dates_of_birth(text) == []


# --- names and places in lower case ------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("i met sandra in leeds", [("sandra", "NAME"), ("leeds", "PLACE")]),
    ("my name is tommo", [("tommo", "NAME")]),
    ("i'm called kaz", [("kaz", "NAME")]),
    ("my keyworker tommo came round", [("tommo", "NAME")]),
    ("a guy called spider", [("spider", "NAME")]),
    ("my mate will said no", [("will", "NAME")]),
    ("my little sister grace, she", [("grace", "NAME")]),
    ("my name is will", [("will", "NAME")]),
    ("will smith and sandra white", [("will smith", "NAME"), ("sandra white", "NAME")]),
    ("mr white was there", [("white", "NAME")]),
    ("i moved to stoke on trent", [("stoke on trent", "PLACE")]),
    ("we went to Reading", [("Reading", "PLACE")]),
    # Everyday-word names in a name context.
    ("me and grace used to kip there", [("grace", "NAME")]),
    ("ray and me slept there", [("ray", "NAME")]),
    ("honestly mark and bill are great", [("mark", "NAME"), ("bill", "NAME")]),
    ("you know jack the fella with the dog", [("jack", "NAME")]),
    ("so mark he's the night manager", [("mark", "NAME")]),
    ("i met amber at the centre", [("amber", "NAME")]),
    ("jade rang me last night", [("jade", "NAME")]),
    ("my nan pat god rest her", [("pat", "NAME")]),
    ("my little girl summer drew it", [("summer", "NAME")]),
    ("my best mate drew got me a bed", [("drew", "NAME")]),
    ("my name's jade simmons", [("jade simmons", "NAME")]),
    # Everyday-word places after a verb of living or moving; apostrophes optional.
    ("i grew up in reading but", [("reading", "PLACE")]),
    ("he lives in hull now", [("hull", "PLACE")]),
    ("dropped me at king's cross", [("king's cross", "PLACE")]),
])
def test_names_and_places(text: str, expected: list) -> None:
    assert found(text, find_names(text)) == expected


@pytest.mark.parametrize("text", [
    "I will go, may I?", "my mate will help me", "I hope so, to be frank",
    "bill paid the bill", "reading a book", "the brown dog", "i am young",
    "my support worker said it was fine", "I miss home", "call me later",
    "it is called universal credit", "we moved in May",
    "summer came early", "the bill came to forty quid", "will he come", "may she rest",
    "i could see the mark he left", "it was grace and favour", "me and may go",
    "i ended up in reading the paper", "my mate drew a picture", "Valentine's Day",
])
def test_everyday_words_are_not_names(text: str) -> None:
    assert find_names(text) == []


# --- organisations -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("i used to work at tesco on the tills", ["tesco"]),
    ("the salvation army hostel in leicester", ["salvation army"]),
    ("St Mungo's and saint mungos", ["St Mungo's", "saint mungos"]),
    # Everyday words in an organisation context.
    ("i was at crisis on tuesday", ["crisis"]),
    ("I go to Mind on Wednesdays", ["Mind"]),
    ("shelter helped me challenge it", ["shelter"]),
    ("then changing lives got me a room", ["changing lives"]),
    ("the lads from turning point come round", ["turning point"]),
    ("i was with shelter and crisis", ["shelter", "crisis"]),
    ("i sold the big issue for years", ["big issue"]),
    ("a charity called framework", ["framework"]),
    ("the mind charity shop", ["mind"]),
])
def test_organisations(text: str, expected: list) -> None:
    assert [text[s.start:s.end] for s in find_organisations(text)] == expected
    assert {s.type for s in find_organisations(text)} == {"ORGANISATION"}


@pytest.mark.parametrize("text", [
    "i was in crisis last year", "never mind", "it comes to mind", "i don't mind, mind you",
    "i need to mind the kids", "we went to shelter from the rain", "i was at crisis point",
    "the night shelter helped me", "it was a turning point", "that was a big issue for me",
    "the mental health crisis team", "it's changing lives", "a crisis helpline",
])
def test_everyday_words_are_not_organisations(text: str) -> None:
    assert find_organisations(text) == []


def test_outside_english_only_capitalised_plain_organisations_count() -> None:
    text = "Pracuję w Tesco, nie w tesco, i Crisis pomógł"
    assert [text[s.start:s.end] for s in find_organisations(text, english=False)] == ["Tesco"]


def test_outside_english_only_capitalised_names_count() -> None:
    text = "Sandra mieszka w Leeds, sandra w maju"
    assert found(text, find_names(text, english=False)) == [("Sandra", "NAME"),
                                                             ("Leeds", "PLACE")]


def test_recase_keeps_every_offset() -> None:
    text = "i met sandra white in stoke-on-trent"
    spans = find_names(text)
    recased = recase(text, spans)
    assert recased == "i met Sandra White in Stoke-On-Trent"
    assert len(recased) == len(text)
    assert [recased[s.start:s.end].lower() for s in spans] == [
        text[s.start:s.end] for s in spans]


# --- local names and the allow-list ------------------------------------------------------

LOCAL = [LocalName("Hope House", "PLACE"), LocalName("Sandra", "NAME"),
         LocalName("St Mungo's", "ORGANISATION"), LocalName("Hope", "NAME")]


@pytest.mark.parametrize(("text", "expected"), [
    ("I'm at Hope House", [("Hope House", "PLACE")]),
    ("i'm at hope-house", [("hope-house", "PLACE")]),
    ("i'm at hopehouse", [("hopehouse", "PLACE")]),
    ("Sandra's great", [("Sandra", "NAME")]),
    ("went to saint mungos", [("saint mungos", "ORGANISATION")]),
    ("went to St. Mungo's", [("St. Mungo's", "ORGANISATION")]),
    ("I hope so", [("hope", "NAME")]),
    ("Sandrakin and Annual hopes", []),
])
def test_local_names(text: str, expected: list) -> None:
    spans = find_local_names(text, LOCAL)
    assert found(text, spans) == expected
    assert all(s.source == "local" and s.score == 1.0 for s in spans)


def test_local_name_types_are_checked() -> None:
    with pytest.raises(ValueError, match="type"):
        LocalName("Sandra", "PERSON")
    with pytest.raises(ValueError, match="letters"):
        LocalName(" - ", "NAME")


def test_allow_list_suppresses_spans_inside_or_equal_to_an_allowed_phrase() -> None:
    text = "welcome to the diary-room, Sandra. Room 5."
    spans = [Span(15, 25, "ORGANISATION"), Span(21, 25, "PLACE"), Span(27, 33, "NAME"),
             Span(35, 39, "PLACE")]
    kept = drop_allowed(text, spans, ["Diary Room", "room"])
    assert found(text, kept) == [("Sandra", "NAME")]
    assert drop_allowed(text, spans, []) == spans


def test_allow_list_keeps_a_span_reaching_past_the_phrase() -> None:
    text = "the Diary Room Sandra"
    assert found(text, drop_allowed(text, [Span(4, 21, "NAME")], ["Diary Room"])) == [
        ("Diary Room Sandra", "NAME")]


def test_finder_recogniser_reports_only_requested_entities() -> None:
    recogniser = FinderRecognizer("Ids", find_identifiers, ("PHONE", "NUMBER"), "en")
    text = "07700 900123 and 12345678"
    assert [(r.entity_type, text[r.start:r.end]) for r in recogniser.analyze(text, ["PHONE"])
            ] == [("PHONE", "07700 900123")]


# -- identifiers after a cue, as Whisper garbles them ---------------------------------

@pytest.mark.parametrize("text, expected", [
    ("my national insurance is KP7-3561 to DNA and that", ("KP7-3561 to DNA", "NI_NUMBER")),
    ("national insurance number SN1-79358, C-8 on birth 21st on mid-11-992.",
     ("SN1-79358, C-8", "NI_NUMBER")),
    ("national insurance number SN1-79358, C-8 on birth 21st on mid-11-992.",
     ("21st on mid-11-992", "DATE_OF_BIRTH")),
    ("my son was born on the 11th on November 2010, he'll be 15",
     ("11th on November 2010", "DATE_OF_BIRTH")),
    ("the bank said my sort code is 24577 and the account is 31926819",
     ("24577", "NUMBER")),
    ("my nhs number is 999 526 01 82 the gp kept asking", ("999 526 01 82", "NHS_NUMBER")),
    ("you can ring me on 029 to 0180417 whenever", ("029 to 0180417", "PHONE")),
    ("she gave me the email k.mencerat example.org, but she's left",
     ("k.mencerat example.org", "EMAIL")),
    ("claim reference 8.41.023.7 I have to quote it", ("8.41.023.7", "NUMBER")),
])
def test_identifiers_after_a_cue_are_redacted_even_when_garbled(text, expected):
    assert expected in [(text[s.start:s.end], s.type) for s in find_cued(text)]


@pytest.mark.parametrize("text", [
    "i was born in leeds in 1990 and grew up there",
    "i was born in the spring, my mum says",
    "my number one priority is a flat",
    "my phone is broken and my account is closed",
    "DOB 12/03/1985, NI number to follow",
    "i sent an email to the council about it",
])
def test_a_cue_alone_redacts_nothing_that_is_not_an_identifier(text):
    found = [text[s.start:s.end] for s in find_cued(text)]
    assert all(any(c.isdigit() for c in f) for f in found), found
    assert not any("leeds" in f or "spring" in f or "one priority" in f or "NI" in f
                   for f in found), found


@pytest.mark.parametrize("text, expected", [
    ("my eyes are 8-2-1-4-6-7B and I'm still waiting", "8-2-1-4-6-7B"),
    ("that the X-5-6-3-0-4-C and my name's", "X-5-6-3-0-4-C"),
    ("my national issuer is number Bx596304C and", "Bx596304C"),
])
def test_codes_read_out_are_numbers(text, expected):
    assert expected in [text[s.start:s.end] for s in find_codes(text)]


@pytest.mark.parametrize("text", ["back in the 1990s", "I take 1000mg twice a day",
                                  "it was 2020 and the M25 was shut", "about 3-4 hours",
                                  "a COVID-19 test"])
def test_quantities_and_years_are_not_codes(text):
    assert find_codes(text) == []


def test_a_domain_heard_without_its_at_is_an_email():
    text = "liam mccarthy at example.co.uk or Liam.com.com.uk he said"
    assert [text[s.start:s.end] for s in find_domains(text)] == [
        "example.co.uk", "Liam.com.com.uk"]


@pytest.mark.parametrize("text, expected", [
    ("My D.O. Readings 1st December 1988 for the form.", ["1st December 1988"]),
    ("one second on April 1980 NHSN", ["second on April 1980"]),
    ("I got evicted on the 3rd of March 2024 and then", []),
    ("in may 1990 we moved to leeds", []),
])
def test_a_whole_date_long_past_is_a_date_of_birth(text, expected):
    assert [text[s.start:s.end] for s in find_old_dates(text)] == expected
