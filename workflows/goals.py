"""The seven goals of the International Policy Framework; every case is tagged with some."""
GOALS: dict[str, str] = {
    "research": "Centre for research excellence and knowledge development",
    "economy": "Competitor in the global economic marketplace",
    "leadership": "Highly skilled and competent leadership",
    "compassion": "Compassionate and caring city",
    "culture": "Leading cultural capital",
    "human_rights": "Leader in human rights and diversity",
    "democracy": "Advocate for local democratic government",
}
