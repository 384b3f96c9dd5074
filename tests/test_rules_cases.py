"""Hand-computed balances: every expected number below was worked out from the rules by hand.

Defaults unless a case says otherwise: technician level = 14 h every 4 years, master = 14 h every
2 years, no carry-over, no per-day cap, due-soon within 180 days, pace = remaining × 30.4375 / days
left (rounded up to the cent), counted window = [cycle start, min(cycle end, as_of + 1 day)).
Behind-pace is checked cross-multiplied: earned × cycle days < required × elapsed days.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pytest

from mailbot.rules import (
    CertRecord,
    CreditRecord,
    PlanItem,
    TechRecord,
    compute_balance,
    lapse_action,
    load_rules,
)

D = Decimal
WRT_2020 = (("WRT", "2020-01-01"),)
WRT_2016 = (("WRT", "2016-01-01"),)


def c(cid: int, day: str, hours: str, **kw) -> CreditRecord:
    return CreditRecord(id=cid, completed_on=date.fromisoformat(day), hours=D(hours), **kw)


@dataclass
class Case:
    name: str
    certs: tuple
    credits: tuple
    as_of: str
    expect: dict
    plans: tuple = ()
    rules: dict | None = None
    cycle_start: str | None = None
    active: bool = True
    action: str | None = field(default=None)  # expected lapse_action kind


CASES = [
    # --- cycle boundaries -------------------------------------------------------------------
    Case("first day of the first cycle", WRT_2020, (), "2020-01-01",
         # 4 y from 2020-01-01; 1461 days left; pace 14 × 30.4375 / 1461 = 0.2917 → 0.30; nothing elapsed
         {"level": "technician", "cycle_start": "2020-01-01", "cycle_end": "2024-01-01", "required": "14",
          "earned": "0", "remaining": "14", "status": "on-track", "pace": "0.30"}),
    Case("last day of the cycle is still in it", WRT_2020, (), "2023-12-31",
         # 1 day left ≤ 180 → due-soon; under a month left → pace = all 14
         {"cycle_end": "2024-01-01", "status": "due-soon", "pace": "14.00"}),
    Case("cycle end is exclusive: next cycle starts on it", WRT_2020, (), "2024-01-01",
         # [2020, 2024) ended with 0 < 14 → lapsed since 2024-01-01, 0 full months
         {"cycle_start": "2024-01-01", "cycle_end": "2028-01-01", "status": "lapsed",
          "lapsed_since": "2024-01-01", "months_lapsed": 0}, action="invoice"),
    Case("a credit on the end date counts in the next cycle", WRT_2020,
         (c(1, "2023-12-31", "14"), c(2, "2024-01-01", "5")), "2024-01-01",
         # previous cycle got 14 (met); current gets only the 5; 0 days elapsed → on-track
         {"cycle_start": "2024-01-01", "earned": "5", "remaining": "9", "status": "on-track"}),
    Case("a credit on the start date counts", WRT_2020, (c(1, "2020-01-01", "14"),), "2020-01-01",
         # 14 ≥ 14 → complete; remaining 0 → pace 0
         {"earned": "14", "remaining": "0", "status": "complete", "pace": "0.00"}),
    Case("a credit the day before the anchor is outside", WRT_2020, (c(1, "2019-12-31", "14"),), "2020-06-01",
         # elapsed 152 days (31+29+31+30+31); 0 × 1461 < 14 × 152 → behind-pace
         {"earned": "0", "status": "behind-pace"}),
    Case("a credit after the as-of date does not count yet", WRT_2020, (c(1, "2021-06-01", "14"),), "2021-05-31",
         # window ends 2021-06-01 (as_of + 1, exclusive); elapsed 366 + 150 = 516 → behind-pace
         {"earned": "0", "status": "behind-pace"}),
    # --- leap days ------------------------------------------------------------------------------
    Case("Feb 29 master anchor: first cycle ends Feb 28", (("MWR", "2024-02-29"),),
         (c(1, "2026-02-27", "14"),), "2026-02-27",
         # 2 y from 2024-02-29 → 2026-02-28 (2026 has no Feb 29); 14 ≥ 14 → complete
         {"level": "master", "cycle_start": "2024-02-29", "cycle_end": "2026-02-28", "status": "complete"}),
    Case("Feb 29 master anchor: next cycle returns to Feb 29", (("MWR", "2024-02-29"),),
         (c(1, "2026-02-27", "14"), c(2, "2026-02-28", "3")), "2026-02-28",
         # [2026-02-28, 2028-02-29): only the 3 counts; previous met; 0 elapsed → on-track
         {"cycle_start": "2026-02-28", "cycle_end": "2028-02-29", "earned": "3", "remaining": "11",
          "status": "on-track"}),
    Case("Feb 29 anchor: the fee falls on Feb 28 in a common year", (("MWR", "2024-02-29"),), (), "2025-02-01",
         # next anniversary 2025-02-28; 27 days ≤ 60 → due-soon
         {"fee_due": {"on": "2025-02-28", "days_until": 27, "status": "due-soon", "remind_today": False}}),
    Case("Feb 29 technician anchor: 4 y later is Feb 29 again", (("WRT", "2024-02-29"),), (), "2028-02-28",
         # 2028 is a leap year → cycle end 2028-02-29; 1 day left → due-soon
         {"cycle_start": "2024-02-29", "cycle_end": "2028-02-29", "status": "due-soon"}),
    # --- a master earned mid-way --------------------------------------------------------------
    Case("master earned mid-way: the cycle shortens to 2 years", (("WRT", "2020-01-01"), ("MWR", "2021-03-01")),
         (c(1, "2020-06-01", "7"),), "2021-06-01",
         # [2020-01-01, 2022-01-01): 731 days, 517 elapsed, 214 left; 7 × 731 = 5117 < 14 × 517 = 7238
         # → behind-pace; pace 7 × 30.4375 / 214 = 0.9956 → 1.00
         {"level": "master", "cycle_end": "2022-01-01", "earned": "7", "remaining": "7",
          "status": "behind-pace", "pace": "1.00"}),
    Case("before the master date the 4-year cycle applies", (("WRT", "2020-01-01"), ("MWR", "2021-03-01")),
         (c(1, "2020-06-01", "7"),), "2021-02-28",
         # technician [2020, 2024); elapsed 366 + 58 = 424; 7 × 1461 = 10227 ≥ 14 × 424 = 5936 → on-track
         {"level": "technician", "cycle_end": "2024-01-01", "status": "on-track"}),
    Case("master earned late: the superseded 4-year cycle is not judged",
         (("WRT", "2020-01-01"), ("MWR", "2022-06-01")), (), "2022-07-01",
         # master grid [2022-01-01, 2024-01-01); old [2020, 2024) has not ended → no lapse;
         # elapsed 181, 549 left → behind-pace
         {"level": "master", "cycle_start": "2022-01-01", "cycle_end": "2024-01-01", "status": "behind-pace",
          "lapsed_since": None}),
    Case("an inspector designation runs on 2 years", (("SCI", "2020-01-01"),), (), "2021-01-01",
         # inspector: 14 h / 2 y → [2020-01-01, 2022-01-01)
         {"level": "inspector", "cycle_end": "2022-01-01", "required": "14"}),
    Case("master outranks inspector for the level shown", (("SCI", "2020-01-01"), ("MSR", "2020-06-01")), (),
         "2021-01-01",
         # both 2 y; master has the higher rank → level master, grid still anchored on 2020-01-01
         {"level": "master", "cycle_start": "2020-01-01", "cycle_end": "2022-01-01"}),
    Case("an admin override of the cycle length applies without a release", WRT_2020, (), "2021-01-01",
         # technician cycle_years 3 → [2020-01-01, 2023-01-01); required 12 → remaining 12
         {"cycle_end": "2023-01-01", "required": "12", "remaining": "12"},
         rules={"levels": {"technician": {"cycle_years": 3, "required_hours": 12}}}),
    # --- lapses -----------------------------------------------------------------------------------
    Case("lapsed 14 months: invoice", WRT_2016, (c(1, "2017-01-01", "14"),), "2025-03-15",
         # [2016, 2020) met; [2020, 2024) 0 < 14 → lapsed since 2024-01-01; Jan 2024 → Mar 2025 = 14 months
         {"cycle_start": "2024-01-01", "status": "lapsed", "lapsed_since": "2024-01-01", "months_lapsed": 14},
         action="invoice"),
    Case("lapsed 23 months: still invoice", WRT_2016, (c(1, "2017-01-01", "14"),), "2025-12-31",
         # 2024-01-01 → 2025-12-01 = 23 full months; the 24th completes on 2026-01-01
         {"status": "lapsed", "months_lapsed": 23}, action="invoice"),
    Case("lapsed 24 months: reinstatement", WRT_2016, (c(1, "2017-01-01", "14"),), "2026-01-01",
         # exactly 24 full months ≥ 24 → reinstatement
         {"status": "lapsed", "months_lapsed": 24}, action="reinstatement"),
    Case("lapsed 25 months: reinstatement", WRT_2016, (c(1, "2017-01-01", "14"),), "2026-02-01",
         {"status": "lapsed", "months_lapsed": 25}, action="reinstatement"),
    Case("two short cycles in a row: the lapse dates from the first", WRT_2016, (), "2025-01-01",
         # [2016, 2020) and [2020, 2024) both 0 → lapsed since 2020-01-01; 5 years = 60 months
         {"status": "lapsed", "lapsed_since": "2020-01-01", "months_lapsed": 60}, action="reinstatement"),
    Case("complete in the current cycle beats a lapse", WRT_2016, (c(1, "2024-06-01", "14"),), "2025-01-01",
         # 14 ≥ 14 → complete (issue order); no lapse fields
         {"status": "complete", "lapsed_since": None, "months_lapsed": None}),
    # --- booth visits, voids, former unit ---------------------------------------------------------
    Case("a booth visit twice at one event counts once", WRT_2020,
         (c(1, "2021-03-10", "2", kind="booth", event_key="Expo 2021"),
          c(2, "2021-03-11", "2", kind="booth", event_key="expo 2021"),
          c(3, "2022-03-10", "2", kind="booth", event_key="Expo 2022")), "2022-06-01",
         # 2 + 2 (credit 2 is the same event) = 4; elapsed 366 + 365 + 151 = 882; 4 × 1461 < 14 × 882
         {"earned": "4", "review_credit_ids": [2], "status": "behind-pace"}),
    Case("a booth visit typed as 3 h counts as typed, flagged", WRT_2020,
         (c(1, "2021-03-10", "3", kind="booth", event_key="Expo"),), "2021-06-01",
         {"earned": "3", "review_credit_ids": [1]}),
    Case("a booth visit typed as 1 h counts as typed, flagged", WRT_2020,
         (c(1, "2021-03-10", "1", kind="booth", event_key="Expo"),), "2021-06-01",
         {"earned": "1", "review_credit_ids": [1]}),
    Case("a booth visit without an event name counts, flagged", WRT_2020,
         (c(1, "2021-03-10", "2", kind="booth"), c(2, "2021-04-10", "2", kind="booth")), "2021-06-01",
         # cannot tell the events apart → both count (4), both flagged
         {"earned": "4", "review_credit_ids": [1, 2]}),
    Case("a voided credit never counts", WRT_2020,
         (c(1, "2021-01-10", "7"), c(2, "2021-02-10", "7", state="voided")), "2021-06-01",
         # 7 only; 7 × 1461 = 10227 ≥ 14 × 517 = 7238 → on-track
         {"earned": "7", "status": "on-track"}),
    Case("an old 7-hour unit credit counts and is flagged", WRT_2020,
         (c(1, "2021-01-10", "7", former_unit=True),), "2021-06-01",
         {"earned": "7", "review_credit_ids": [1]}),
    # --- carry-over ---------------------------------------------------------------------------------
    Case("carry-over off: surplus stays in its cycle", WRT_2016, (c(1, "2017-01-01", "20"),), "2021-01-01",
         # [2020, 2024) has nothing; elapsed 366 → behind-pace
         {"earned": "0", "carried_in": "0", "status": "behind-pace"}),
    Case("carry-over on: the 6 h surplus carries", WRT_2016, (c(1, "2017-01-01", "20"),), "2021-01-01",
         # 20 − 14 = 6 carried; 6 × 1461 = 8766 ≥ 14 × 366 = 5124 → on-track; remaining 8
         {"earned": "6", "carried_in": "6", "remaining": "8", "status": "on-track"},
         rules={"policy": {"carry_over": True}}),
    Case("carry-over on: surplus does not chain", WRT_2016, (c(1, "2017-01-01", "30"),), "2024-06-01",
         # [2020, 2024): 0 own + 16 carried = 16 ≥ 14 → met, no lapse; [2024, 2028) gets 0 (0 own − 14 < 0);
         # elapsed 152 → behind-pace
         {"cycle_start": "2024-01-01", "earned": "0", "carried_in": "0", "status": "behind-pace",
          "lapsed_since": None}, rules={"policy": {"carry_over": True}}),
    Case("carry-over off: the same history is a lapse", WRT_2016, (c(1, "2017-01-01", "30"),), "2024-06-01",
         # [2020, 2024) got 0 → lapsed since 2024-01-01, 5 full months
         {"status": "lapsed", "lapsed_since": "2024-01-01", "months_lapsed": 5}, action="invoice"),
    # --- per-day cap ----------------------------------------------------------------------------------
    Case("cap off: 16 h on one day all count", WRT_2020,
         (c(1, "2021-05-01", "8"), c(2, "2021-05-01", "8")), "2021-06-01",
         {"earned": "16", "pending_review": "0", "status": "complete"}),
    Case("cap 8: the second 8 h waits for review", WRT_2020,
         (c(1, "2021-05-01", "8"), c(2, "2021-05-01", "8")), "2021-06-01",
         # 8 counts, 8 over the cap → pending review; 8 × 1461 ≥ 14 × 517 → on-track
         {"earned": "8", "pending_review": "8", "review_credit_ids": [2], "status": "on-track"},
         rules={"policy": {"per_day_cap": 8}}),
    Case("cap 8: a smaller later credit that fits still counts", WRT_2020,
         (c(1, "2021-05-01", "7"), c(2, "2021-05-01", "3"), c(3, "2021-05-01", "1")), "2021-06-01",
         # 7 fits; 7 + 3 = 10 > 8 → waits; 7 + 1 = 8 fits → earned 8, pending 3
         {"earned": "8", "pending_review": "3", "review_credit_ids": [2]},
         rules={"policy": {"per_day_cap": 8}}),
    Case("cap 8: a credit the admin accepted past the cap counts", WRT_2020,
         (c(1, "2021-05-01", "8"), c(2, "2021-05-01", "8", cap_exempt=True)), "2021-06-01",
         # 8 + 8 (exempt) = 16 ≥ 14 → complete, nothing waiting
         {"earned": "16", "pending_review": "0", "review_credit_ids": [], "status": "complete"},
         rules={"policy": {"per_day_cap": 8}}),
    Case("hours_step 0.5: partial hours count in whole half hours", WRT_2020,
         (c(1, "2021-01-01", "3.75"), c(2, "2021-01-02", "0.4")), "2021-06-01",
         # 3.75 → 3.5, 0.4 → 0 (both noted, not for review); remaining 14 − 3.5 = 10.5
         {"earned": "3.5", "remaining": "10.5", "review_credit_ids": []},
         rules={"policy": {"hours_step": "0.5"}}),
    # --- no certifications ------------------------------------------------------------------------------
    Case("no certifications", (), (c(1, "2021-05-01", "7"),), "2021-06-01",
         {"status": "no-certifications", "level": None, "cycle_start": None, "required": "0", "earned": "0",
          "fee_due": None, "certifications": []}),
    Case("only an unknown designation", (("XYZ", "2019-01-01"),), (), "2021-06-01",
         {"status": "no-certifications",
          "certifications": [{"designation": "XYZ", "level": None, "status": "unknown-designation",
                              "cycle_start": None, "cycle_end": None, "earned": "0"}]}),
    Case("certified after the as-of date", (("WRT", "2022-01-01"),), (), "2021-12-31",
         {"status": "no-certifications"}),
    # --- pace and due-soon ----------------------------------------------------------------------------
    Case("pace two years before the end", WRT_2020, (c(1, "2021-06-01", "7"),), "2022-01-01",
         # 730 days left: 7 × 30.4375 / 730 = 0.29187 → 0.30; 7 × 1461 = 10227 < 14 × 731 = 10234 → behind
         {"remaining": "7", "pace": "0.30", "status": "behind-pace"}),
    Case("pace with under a month left is all of it", WRT_2020, (c(1, "2021-06-01", "10"),), "2023-12-20",
         # 12 days left < 30.4375 → pace 4.00; 12 ≤ 180 → due-soon
         {"remaining": "4", "pace": "4.00", "status": "due-soon"}),
    Case("180 days before the end is due-soon", WRT_2020, (c(1, "2021-06-01", "13"),), "2023-07-05",
         # 2023-07-05 → 2024-01-01 = 31+31+30+31+30+27 = 180 days ≤ 180
         {"status": "due-soon"}),
    Case("181 days before the end is not yet due-soon", WRT_2020, (c(1, "2021-06-01", "13"),), "2023-07-04",
         # elapsed 1461 − 181 = 1280; 13 × 1461 = 18993 ≥ 14 × 1280 = 17920 → on-track;
         # pace 1 × 30.4375 / 181 = 0.1682 → 0.17
         {"status": "on-track", "pace": "0.17"}),
    Case("exactly on pace is on-track", (("MWR", "2021-01-01"),), (c(1, "2021-03-01", "7"),), "2022-01-01",
         # [2021-01-01, 2023-01-01) = 730 days, 365 elapsed: 7 × 730 = 5110 = 14 × 365 → not behind
         {"cycle_end": "2023-01-01", "status": "on-track"}),
    Case("a hundredth under pace is behind", (("MWR", "2021-01-01"),), (c(1, "2021-03-01", "6.99"),), "2022-01-01",
         # 6.99 × 730 = 5102.7 < 5110 → behind-pace; pace 7.01 × 30.4375 / 365 = 0.58457 → 0.59
         {"status": "behind-pace", "remaining": "7.01", "pace": "0.59"}),
    # --- exact hours, submissions, plans ---------------------------------------------------------------
    Case("0.1 + 0.2 is exactly 0.3", WRT_2020, (c(1, "2021-01-01", "0.1"), c(2, "2021-01-02", "0.2")),
         "2021-06-01",
         # required set to 0.3: 0.1 + 0.2 = 0.3 exactly → remaining 0, complete
         {"earned": "0.3", "remaining": "0", "status": "complete"},
         rules={"levels": {"technician": {"required_hours": "0.3"}}}),
    Case("submitted and confirmed are parts of earned", WRT_2020,
         (c(1, "2021-01-01", "3", submission="sent"), c(2, "2021-01-02", "4", submission="confirmed"),
          c(3, "2021-01-03", "2", submission="drafted"), c(4, "2021-01-04", "1")), "2021-06-01",
         # earned 3+4+2+1 = 10; submitted (sent + confirmed) 3+4 = 7; confirmed 4
         {"earned": "10", "submitted": "7", "confirmed": "4"}),
    Case("pending review hours are shown, not earned", WRT_2020,
         (c(1, "2021-01-01", "7"), c(2, "2021-02-01", "3", state="pending_review")), "2021-06-01",
         {"earned": "7", "pending_review": "3", "remaining": "7"}),
    Case("planned counts from as-of to the cycle end", WRT_2020, (c(1, "2021-06-01", "7"),), "2022-01-01",
         # 2021-12-01 is past, 2024-02-01 is after the end → only the 3 h; projected 7 + 3 = 10
         {"planned": "3", "projected": "10"},
         plans=(("2021-12-01", "5"), ("2022-02-15", "3"), ("2024-02-01", "4"))),
    # --- anchor and fee ----------------------------------------------------------------------------------
    Case("cycle_start from My IICRC anchors the cycle", (("WRT", "2015-03-01"),), (), "2022-01-01",
         # [2021-07-01, 2025-07-01); fee 2022-07-01 is 181 days away > 60 → upcoming
         {"cycle_start": "2021-07-01", "cycle_end": "2025-07-01",
          "fee_due": {"on": "2022-07-01", "days_until": 181, "status": "upcoming", "remind_today": False}}, cycle_start="2021-07-01"),
    Case("fee within 30 days is due-soon", WRT_2020, (), "2021-12-10",
         # 2021-12-10 → 2022-01-01 = 21 + 1 = 22 days, inside the largest reminder window (30, 7)
         {"fee_due": {"on": "2022-01-01", "days_until": 22, "status": "due-soon", "remind_today": False}}),
    Case("fee 47 days away is still upcoming", WRT_2020, (), "2021-11-15",
         # 2021-11-15 → 2022-01-01 = 30 + 17 = 47 days > 30
         {"fee_due": {"on": "2022-01-01", "days_until": 47, "status": "upcoming", "remind_today": False}}),
    Case("30 days before the fee a reminder is due", WRT_2020, (), "2021-12-02",
         # 2021-12-02 → 2022-01-01 = 30 days, one of the reminder days (30, 7)
         {"fee_due": {"on": "2022-01-01", "days_until": 30, "status": "due-soon", "remind_today": True}}),
    Case("fee on the anniversary is due today", WRT_2020, (c(1, "2021-01-01", "14"),), "2022-01-01",
         {"fee_due": {"on": "2022-01-01", "days_until": 0, "status": "due-today", "remind_today": False}}),
    # --- per certification ----------------------------------------------------------------------------------
    Case("each certification has its own cycle", (("WRT", "2016-01-01"), ("ASD", "2021-01-01")),
         (c(1, "2019-06-01", "14"), c(2, "2022-06-01", "10")), "2023-01-01",
         # pool [2020, 2024): 10 × 1461 = 14610 < 14 × 1096 = 15344 → behind-pace (WRT the same);
         # ASD [2021-01-01, 2025-01-01): 14610 ≥ 14 × 730 = 10220 → on-track
         {"status": "behind-pace", "earned": "10",
          "certifications": [
              {"designation": "WRT", "level": "technician", "status": "behind-pace",
               "cycle_start": "2020-01-01", "cycle_end": "2024-01-01", "earned": "10"},
              {"designation": "ASD", "level": "technician", "status": "on-track",
               "cycle_start": "2021-01-01", "cycle_end": "2025-01-01", "earned": "10"}]}),
    Case("a re-certification restarts the cycle", (("WRT", "2016-01-01"), ("wrt", "2022-03-01")), (),
         "2022-06-01",
         # latest WRT date wins → anchor 2022-03-01; nothing before it is judged; 92 elapsed → behind-pace
         {"cycle_start": "2022-03-01", "cycle_end": "2026-03-01", "status": "behind-pace", "lapsed_since": None}),
    Case("a technician who left keeps a balance", WRT_2020, (c(1, "2021-01-01", "14"),), "2021-06-01",
         {"active": False, "status": "complete"}, active=False),
]


def _tech(case: Case) -> TechRecord:
    certs = tuple(CertRecord(code, date.fromisoformat(day)) for code, day in case.certs)
    start = date.fromisoformat(case.cycle_start) if case.cycle_start else None
    return TechRecord(id=1, name="Sam Tech", email="sam@example.com", iicrc_id="000000", cycle_start=start,
                      certifications=certs, active=case.active)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hand_computed_balance(case: Case) -> None:
    rules = load_rules(case.rules)
    plans = [PlanItem(date.fromisoformat(day), D(hours), "plan") for day, hours in case.plans]
    balance = compute_balance(_tech(case), list(case.credits), plans, rules, date.fromisoformat(case.as_of))
    shown = balance.to_dict()
    for key, expected in case.expect.items():
        assert shown[key] == expected, f"{key}: {shown[key]!r} != {expected!r}"
    action = lapse_action(balance, rules)
    assert (action.kind if action else None) == case.action


def test_there_are_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
