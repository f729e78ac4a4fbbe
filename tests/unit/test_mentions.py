"""Question mentions and name matching: initialisms, dotted abbreviations, surnames."""

from __future__ import annotations

from app.retrieval.mentions import acronym, is_yes_no, mentions_in, name_tokens, question_mentions


def test_dotted_abbreviations_are_one_word_however_punctuated() -> None:
    assert (
        name_tokens("Marsh Vale United F.C.")
        == name_tokens("Marsh Vale United FC")
        == {"marsh", "vale", "united"}
    )
    assert name_tokens("Marsh Vale United F.C") == {"marsh", "vale", "united"}
    assert "us" in name_tokens("the U.S. Senate")
    assert {"j", "smith"} <= name_tokens("J. Smith")


def test_club_suffix_written_differently_still_matches() -> None:
    assert mentions_in(
        "THE MARSH VALE UNITED FC STAR SAYS", "Marsh Vale United F.C.", threshold=0.5
    )


def test_initialism_of_a_long_name() -> None:
    assert acronym("Institute of Marine Research and Technology") == "IMRT"
    assert acronym("Bank of England") is None
    assert acronym("the new signing") is None


def test_long_organisation_found_by_its_initialism_in_capitals() -> None:
    name = "Institute of Marine Research and Technology"
    assert mentions_in("The IMRT board met on Monday.", name)
    assert not mentions_in("The imrt board met on Monday.", name)


def test_surname_alone_finds_the_person() -> None:
    assert mentions_in("Kowalczyk said the deal was done.", "Marta Kowalczyk")
    assert mentions_in("Mr. Kowalczyk said so.", "Marta Kowalczyk")


def test_surname_inside_another_persons_name_is_someone_else() -> None:
    assert not mentions_in("It was announced by Simon Kowalczyk.", "Marta Kowalczyk")
    assert not mentions_in("The winner was Kowalczyk Dietze (Acme).", "Marta Kowalczyk")
    assert not mentions_in("the kowalczyk family", "Marta Kowalczyk")


def test_question_mentions_and_yes_no() -> None:
    question = "Is Marta Kowalczyk a member of Marsh Vale United F.C.?"
    assert question_mentions(question) == ["Marta Kowalczyk", "Marsh Vale United F.C"]
    assert is_yes_no(question)
    assert not is_yes_no("Who is the chair of Acme Corp?")


def test_a_list_of_companies_gives_one_name_each() -> None:
    question = "Which had the higher margin among Orvane Labs, Inc., Tesk Holdings and Brindle Co?"
    assert question_mentions(question) == ["Orvane Labs, Inc", "Tesk Holdings", "Brindle Co"]
    assert question_mentions("Compare sales between Orvane Labs and Tesk Holdings.") == [
        "Orvane Labs",
        "Tesk Holdings",
    ]


def test_a_name_with_and_inside_stays_whole() -> None:
    assert question_mentions("Who founded Dunmore and Pike?") == ["Dunmore and Pike"]


def test_a_legal_form_names_no_company() -> None:
    # "Inc" shared with another company's passage is not a mention of this one.
    assert not mentions_in("Brindle Co, Inc. reported sales.", "Tesk Holdings Inc")
    assert mentions_in("Tesk Holdings raised its outlook.", "Tesk Holdings Inc")


def test_time_expressions_are_not_names() -> None:
    assert question_mentions(
        "Which firm had the higher margin among Orlin Foods, Inc. and Vastra Group in 2024-q2?"
    ) == ["Orlin Foods, Inc", "Vastra Group"]
    assert question_mentions("What did Orlin Foods report in Q3 2024?") == ["Orlin Foods"]
    assert question_mentions("What happened at Kellmart on 3 May 2021?") == ["Kellmart"]
    assert question_mentions("Who coached Brindle Rovers from 2003 to 2005?") == ["Brindle Rovers"]


def test_a_span_without_letters_is_no_name_but_a_numbered_name_stays() -> None:
    assert question_mentions("Did Odile Varn score 2 goals?") == ["Odile Varn"]
    assert question_mentions("Who flew on Skylark 7 to the station?") == ["Skylark 7"]


def test_a_web_domain_or_a_country_initialism_qualifies_a_name_without_naming_it() -> None:
    assert mentions_in("Kellmart grew its grocery sales by 4%.", "Kellmart.com")
    assert mentions_in("Brindle Shoes opened forty stores.", "Brindle Shoes U.K., Ltd.")
    assert not mentions_in("The shoes sold well in the U.K.", "Brindle Shoes U.K., Ltd.")


def test_a_nationality_word_describing_the_subject_is_not_a_name_of_its_own() -> None:
    q = "Which gallery held the Norwegian sculptor Veyla Strand's work in 1990?"
    assert question_mentions(q) == ["Veyla Strand's"]
    # Alone, it is all the question names, so it stays.
    assert question_mentions("Who led the Norwegian delegation in 2004?") == ["Norwegian"]
