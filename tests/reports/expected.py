"""The figures of the scenario's year 2025, counted by hand from tests/reports/scenario.py.

Travel: T1 was submitted on 31 December 2024 (local), so 2025 has five requests (T2-T6, T5 at
23:30 on New Year's Eve); four approvals (T1, T2, T3, T6; T5's is in 2026); T1's report came on its
due day (on time), T2's after (late; its second filing does not count again); T3 is overdue at year
end, T6's report is not yet due. Relief: R4 (20:00 on New Year's Eve) counts in 2025, R5's payment
in 2026; decisions took 5 (R1), 14 (R2), 2 (R3) and 3 (R5) days. Partnerships: P5 is adopted in 2026.
"""
from __future__ import annotations


def dept(name, requests, approved, declined, trips, estimated, actual, reported, punctuality, key="department"):
    on_time, late, overdue = punctuality
    return {key: name, "requests": requests, "approved": approved, "declined": declined,
            "trips_completed": trips, "estimated_cost": estimated, "actual_cost": actual,
            "estimated_cost_of_reported": reported,
            "reports_on_time": on_time, "reports_late": late, "reports_overdue": overdue}


def place(key, name, requests, approved, declined, asked, granted, paid):
    return {key: name, "requests": requests, "approved": approved, "declined": declined,
            "amount_requested": asked, "amount_granted": granted, "amount_paid": paid}


T1_LEARNING = {"case_id": 1, "title": "travel T1", "event": "Metropolis congress 2025", "organizer": "Metropolis",
               "department": "Toronto Public Health", "traveller": "Sam Okafor", "accepted_on": "2025-03-18",
               "learnings": "Community health agents reach every household.",
               "contacts": [{"name": "Ana Souza", "organization": "Prefeitura"}]}
T2_LEARNING = {"case_id": 2, "title": "travel T2", "event": "ICLEI congress 2025", "organizer": "ICLEI",
               "department": "Economic Development and Culture", "traveller": "Erin", "accepted_on": "2025-07-02",
               "learnings": "Green bonds finance retrofits.",
               "contacts": [{"name": "Ana Souza", "organization": "Prefeitura"}]}

TRAVEL_2025 = {
    "requests": 5, "approved": 4, "declined": 1, "cancelled": 0, "trips_completed": 4, "reports_filed": 2,
    "estimated_cost": "13650.00",  # 2950.00 + 6200.00 + 3000.00 + 1500.00
    "actual_cost": "9225.40",  # 2875.40 + 6350.00 (T2's figure as finally filed)
    "estimated_cost_of_reported": "9150.00",  # 2950.00 + 6200.00
    "reports_on_time": 1, "reports_late": 1, "reports_overdue": 1,
    "by_department": [
        # (reports on time, late, overdue): T3 is the Council's, T2 Economic Development's, T1 Public Health's
        dept("City Council", 1, 1, 0, 1, "3000.00", "0.00", "0.00", (0, 0, 1)),
        dept("Economic Development and Culture", 2, 2, 0, 2, "7700.00", "6350.00", "6200.00", (0, 1, 0)),
        dept("Toronto Public Health", 2, 1, 1, 1, "2950.00", "2875.40", "2950.00", (1, 0, 0)),
    ],
    "by_organizer": [
        dept("ICLEI", 1, 1, 0, 1, "6200.00", "6350.00", "6200.00", (0, 1, 0), key="organizer"),
        dept("Metropolis", 1, 2, 0, 2, "5950.00", "2875.40", "2950.00", (1, 0, 1), key="organizer"),
        dept("WHO", 3, 1, 1, 1, "1500.00", "0.00", "0.00", (0, 0, 0), key="organizer"),
    ],
    "trips_by_month": [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1],
    "learnings_by_goal": {"research": [T1_LEARNING], "economy": [T2_LEARNING], "leadership": [T1_LEARNING]},
}

RELIEF_2025 = {
    "requests": 5, "approved": 3, "referred_to_council": 1, "declined": 1, "withdrawn": 0, "disbursed": 2,
    "amount_requested": "123000.00",  # 40000 + 60000 + 10000 + 5000 + 8000
    "amount_granted": "73000.00",  # 20000 + 45000 (revised by Council) + 8000
    "amount_paid": "65000.00",  # 20000 + 45000; R5's 8000 is paid in 2026
    "median_days_to_decision": 4.0,  # days 2, 3, 5, 14
    "p90_days_to_decision": 11.3,  # 5 + 0.7 * (14 - 5)
    "by_country": [
        place("country", "El Salvador", 2, 1, 0, "45000.00", "20000.00", "20000.00"),
        place("country", "Pakistan", 1, 0, 1, "10000.00", "0.00", "0.00"),
        place("country", "Philippines", 1, 1, 0, "8000.00", "8000.00", "0.00"),
        place("country", "Turkey", 1, 1, 0, "60000.00", "45000.00", "45000.00"),
    ],
    "by_disaster_type": [
        place("disaster_type", "drought", 1, 0, 0, "5000.00", "0.00", "0.00"),
        place("disaster_type", "earthquake", 1, 1, 0, "60000.00", "45000.00", "45000.00"),
        place("disaster_type", "flood", 1, 0, 1, "10000.00", "0.00", "0.00"),
        place("disaster_type", "hurricane", 2, 2, 0, "48000.00", "28000.00", "20000.00"),
    ],
}

PARTNERSHIPS_2025 = {
    "proposals": 5, "referred_to_council": 2, "adopted": 1, "declined": 1, "deferred": 1, "withdrawn": 1,
    "city_contribution_adopted": "15000.00",
    "by_type": [
        {"proposal_type": "new", "proposals": 4, "adopted": 0, "declined": 1, "withdrawn": 1},
        {"proposal_type": "revival", "proposals": 1, "adopted": 1, "declined": 0, "withdrawn": 0},
    ],
    # The reference inventory (1 active, 1 dormant, 10 completed, 1 prospective) after Sao Paulo's revival.
    "inventory_by_status": {"active": 2, "dormant": 0, "completed": 10, "prospective": 1},
}

GOALS_BY_WORKFLOW_2025 = {
    "research": {"travel": 1, "relief": 0, "partnership": 1},
    "economy": {"travel": 2, "relief": 0, "partnership": 0},
    "leadership": {"travel": 0, "relief": 0, "partnership": 0},
    "compassion": {"travel": 1, "relief": 5, "partnership": 0},
    "culture": {"travel": 1, "relief": 0, "partnership": 0},
    "human_rights": {"travel": 0, "relief": 1, "partnership": 0},
    "democracy": {"travel": 1, "relief": 0, "partnership": 5},
}
GOALS_2025 = {"research": 2, "economy": 2, "leadership": 0, "compassion": 6, "culture": 1, "human_rights": 1,
              "democracy": 6}
