"""The field parsers on their own: pure functions of text, each case written from what a person reads."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.extract.dates import find_dates
from mailbot.extract.document import extract_pages
from mailbot.extract.fields import pick_date, read_fields
from mailbot.extract.hours import choose_hours, find_hours
from mailbot.extract.layout import Glyph, Line, Page, build_lines
from mailbot.extract.names import find_name


def lines_of(*texts: str, size: float = 12) -> list[Line]:
    return [Line(text, 20 * i, 20 * i + size, 50, 400) for i, text in enumerate(texts)]


@pytest.mark.parametrize("text, hours", [
    ("7 CECs", "7"), ("7.0 CEC hours", "7"), ("Credit Hours: 3.5", "3.5"), ("CE Hours: 4", "4"),
    ("Seven (7) hours", "7"), ("0.8 CEU", "8"), ("PDUs/ContactHours: 0.75", "0.75"),
    ("Recertification Credits: 1.00", "1"), ("Total CECs: 14", "14"), ("0.3 LACET CEU", "3"),
    ("Continuing Education Credits (CECs): 7", "7"), ("Fourteen hours of instruction", "14"),
    ("7 Continuing Education Credits", "7"), ("CEC's: 2", "2"),
])
def test_hours_in_every_wording(text, hours):
    choice = choose_hours(find_hours([text]))
    assert choice.hours == Decimal(hours) and not choice.reasons


@pytest.mark.parametrize("text", ["Course #: 301", "Certificate ID: 77812", "Learner ID 100482733", "Score: 95%",
                                  "Modules completed: 6 of 6", "Class size: 18", "Price: $450.00", "Room 104",
                                  "Hours: 8:00 - 17:00", "Hours: 24/7 emergency service"])
def test_decoy_numbers_are_never_hours(text):
    assert choose_hours(find_hours([text])).hours is None


def test_former_unit_is_clock_hours_with_review():
    choice = choose_hours(find_hours(["1 CEC (7 hrs)"]))
    assert choice.hours == Decimal(7) and choice.former_unit and choice.reasons


def test_cpe_on_a_fifty_minute_hour_is_converted_and_flagged():
    choice = choose_hours(find_hours(["Continuing Professional Education Credit (CPE): 2.60",
                                      "CPE credits have been granted based on a 50-minute hour."]))
    assert choice.hours == Decimal("2.17") and choice.reasons


@pytest.mark.parametrize("text, hours", [("Time to complete: 1.50 - 2.00 h", None), ("2 hours 27 min", "2.45"),
                                         ("Length: 90 minutes", "1.5"),
                                         ("01 Days Faculty Development Program", None)])
def test_ranges_and_durations_go_to_review(text, hours):
    choice = choose_hours(find_hours([text]))
    assert choice.hours == (Decimal(hours) if hours else None) and choice.reasons


def test_disagreeing_hour_figures_go_to_review():
    choice = choose_hours(find_hours(["7 CECs", "Credit Hours: 14"]))
    assert choice.hours is None and "several" in choice.reasons[0]


@pytest.mark.parametrize("text, expected", [
    ("03/22/2026", date(2026, 3, 22)), ("2026-03-02", date(2026, 3, 2)), ("2 March 2026", date(2026, 3, 2)),
    ("Mar. 2nd, 2026", date(2026, 3, 2)), ("15-Jan-2026", date(2026, 1, 15)),
    ("9th day of February, 2026", date(2026, 2, 9)), ("Issued this 11th Day of October, 2021", date(2021, 10, 11)),
    ("April 8-10, 2026", date(2026, 4, 10)), ("July 26-28, 2022", date(2022, 7, 28)),
    ("March 2, 2026 - March 4, 2026", date(2026, 3, 4)), ("Completed 2026/03/02", date(2026, 3, 2)), ("2026-04-28 to 2026-05-01", date(2026, 5, 1)),
])
def test_dates_in_every_format(text, expected):
    value, reasons = pick_date(find_dates([text]))
    assert value == expected and not reasons


def test_completion_date_wins_over_issue_and_expiry():
    hits = find_dates(["Date Issued: May 1, 2026", "Completion Date 04-Apr-2026", "Expiration Date 03-Apr-2028"])
    assert pick_date(hits) == (date(2026, 4, 4), [])


def test_ambiguous_numeric_date_is_flagged():
    value, reasons = pick_date(find_dates(["Date: 03/02/2026"]))
    assert value == date(2026, 3, 2) and reasons


@pytest.mark.parametrize("texts, name", [
    (["This is to certify that", "MARY-KATE O'NEIL", "has completed"], "MARY-KATE O'NEIL"),
    (["Congratulations, John Q. Public"], "John Q. Public"),
    (["Learner Name: Ana de la Cruz"], "Ana de la Cruz"),
    (["Participant: Tom Lee"], "Tom Lee"),
    (["Attendee: Sam Park"], "Sam Park"),
    (["Proudly presented to", "Mr. R. J. Singh"], "R. J. Singh"),
    (["is hereby awarded to", "Zoë Müller-Lüdenscheidt"], "Zoë Müller-Lüdenscheidt"),
    (["Congratulations!", "Lee Adams"], "Lee Adams"),
])
def test_names_after_every_cue(texts, name):
    found = find_name(lines_of(*texts))
    assert found is not None and found.name == name and found.cued


def test_a_title_wrapping_over_two_lines_is_joined():
    page = Page(1, lines_of("This is to certify that", "Pat Doe", "has successfully completed", "Applied Microbial",
                            "Remediation Technician", "Credit Hours: 14", "Completed: 2026-03-02"))
    found = read_fields(page)
    assert found.course_title == "Applied Microbial Remediation Technician" and not found.needs_review


def test_letter_spaced_glyphs_are_rejoined():
    glyphs, x = [], 0.0
    for word in ("Feb", "22,", "2024"):
        for char in word:
            glyphs.append(Glyph(char, x, x + 5, 0, 10, after_space=True))  # a space after every glyph
            x += 7  # 2 pt of tracking between letters
        x += 6  # a wider gap between words
    (line,) = build_lines(glyphs)
    assert line.text == "Feb 22, 2024"


def test_a_page_without_name_or_hours_says_why():
    found = read_fields(Page(1, lines_of("Certificate of Completion", "Completed: 2026-03-02")))
    assert found.needs_review and "no name found" in found.reasons and "no hours found" in found.reasons


def test_a_lower_case_rest_of_line_is_not_the_title():
    page = Page(1, lines_of("This certifies that Pat Doe", "has successfully completed all requirements for",
                            "Odor Control Technician", "7 CECs", "Completed: 2026-03-02"))
    found = read_fields(page)
    assert found.course_title == "Odor Control Technician" and found.category == "fire"


def test_provider_from_a_label_or_the_letterhead():
    labelled = read_fields(Page(1, lines_of("Certificate of Completion", "Presented by Blue Sky Training LLC")))
    letterhead = read_fields(Page(1, lines_of("Northwest Restoration Institute", "Certificate of Completion",
                                              "Course Title: Mold Basics")))
    assert labelled.provider == "Blue Sky Training LLC"
    assert letterhead.provider == "Northwest Restoration Institute"


def test_a_form_label_above_a_date_in_its_column_names_its_kind():
    # two columns: "Issued" over one date, "Completed" over the other; reading order interleaves them
    lines = [Line("Issued", 100, 110, 50, 120), Line("Completed", 100, 110, 300, 400),
             Line("2026-05-01", 112, 122, 50, 120), Line("2026-04-04", 112, 122, 300, 400)]
    page = Page(1, [Line("This is to certify that", 20, 32, 50, 400), Line("Pat Doe", 40, 60, 50, 400), *lines])
    assert read_fields(page).completed_on == date(2026, 4, 4)


@pytest.mark.parametrize("text, kind", [
    ("CERTIFICATE OF LIABILITY INSURANCE\nINSURER A: Acme Mutual\nPOLICY NUMBER 123\nCertificate holder: X Co", "other"),
    (("Thank you for registering!\nYou are registered for WRT, April 8-10, 2026.\nA certificate of completion "
     "will be issued after the class."), "registration"),
])
def test_lookalikes_are_not_certificates(text, kind):
    from mailbot.extract.classify import page_kind
    assert page_kind(text) == kind


@pytest.mark.parametrize("text, code", [("IICRC Course Approval: 2024-12345", "2024-12345"), ("Course #: WRT-2207", "WRT-2207"),
                                        ("Approval Number: A-77", "A-77"), ("Activity #: 4101J2GRWT", "4101J2GRWT")])
def test_approval_numbers(text, code):
    from mailbot.extract.fields import find_approval
    assert find_approval(lines_of(text)) == code


@pytest.mark.parametrize("text", ["Certificate #: 55123", "IICRC Registrant #: 123456", "Learner ID: 100482733"])
def test_certificate_and_person_ids_are_not_approval_numbers(text):
    from mailbot.extract.fields import find_approval
    assert find_approval(lines_of(text)) is None


def test_a_group_certificate_naming_several_people_is_flagged():
    page = Page(1, lines_of("This certifies that", "Ann Lee", "Participant: Bo Chan", "has completed",
                            "Odor Control Technician", "7 CECs", "Completed: 2026-03-02"))
    assert "several people named on one page" in read_fields(page).reasons


def test_a_sentence_after_has_completed_is_not_a_title():
    page = Page(1, lines_of("This is to certify that", "Pat Doe", "has successfully completed",
                            "the requirements of the program", "7 CECs", "Completed: 2026-03-02"))
    found = read_fields(page)
    assert found.course_title != "the requirements of the program" and found.needs_review


def test_a_company_after_certify_that_is_not_a_person():
    found = find_name(lines_of("This is to certify that", "Blue Sky Restoration Partners", "has completed"))
    assert found is None


LINE_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80)


@settings(max_examples=150, deadline=None)
@given(st.lists(LINE_TEXT, max_size=25))
def test_any_text_gives_an_explained_result(texts):
    for found in extract_pages([Page(1, lines_of(*texts))]):
        assert found.needs_review == bool(found.reasons)
        assert 0.0 <= found.confidence <= 1.0
        if not found.needs_review:
            assert found.person_name and found.course_title and found.hours is not None and found.completed_on


def test_a_total_beside_a_different_course_figure_goes_to_review():
    choice = choose_hours(find_hours(["This course: 7 CECs", "Total CECs: 28"]))
    assert choice.reasons and choice.hours == Decimal(28)


def test_a_form_row_with_several_labels():
    found = read_fields(Page(1, lines_of("Certificate of Completion", "Name: Jane Doe Date: 3/15/2026",
                                         "Course: Water Damage Restoration Technician Hours: 19")))
    assert (found.person_name, found.course_title, found.hours, found.completed_on) == (
        "Jane Doe", "Water Damage Restoration Technician", Decimal(19), date(2026, 3, 15))


def form_page(*cells: tuple[str, float, float]) -> Page:
    """Lines at (x, top) positions, as a form or a table prints them."""
    return Page(1, [Line(text, top, top + 12, x, x + 150) for text, x, top in cells])


def test_form_labels_above_values():
    page = form_page(("Certificate of Training", 200, 20), ("PARTICIPANT", 50, 100), ("COURSE", 400, 100),
                     ("Angela M. Rossi", 50, 116), ("Odor Control Technician", 400, 116),
                     ("DATE COMPLETED", 50, 200), ("CEC HOURS", 400, 200), ("March 3, 2026", 50, 216), ("14", 400, 216))
    found = read_fields(page)
    assert (found.person_name, found.course_title, found.hours, found.completed_on, found.needs_review) == (
        "Angela M. Rossi", "Odor Control Technician", Decimal(14), date(2026, 3, 3), False)


def test_a_table_listing_several_students_is_flagged():
    page = form_page(("Training Completion Report", 50, 20), ("Student", 50, 100), ("Course", 250, 100),
                     ("Hours", 500, 100), ("Maria Lopez", 50, 116), ("Applied Structural Drying", 250, 116),
                     ("21", 500, 116), ("Tom Baker", 50, 132), ("Applied Structural Drying", 250, 132), ("21", 500, 132),
                     ("Completed: 2026-02-11", 50, 200))
    found = read_fields(page)
    assert found.needs_review and "several people named on one page" in found.reasons
