"""What the demo vendor sites show: a few courses (Acme Learning) or job listings (CareerHub).

Only window dressing: the integration with the portal is all in `portal/demo/vendor.py`."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Item:
    slug: str
    title: str
    summary: str
    detail: str


@dataclass(frozen=True)
class Catalogue:
    tagline: str
    lead: str
    noun: str  # what an item is called: "course", "job"
    action: str  # the button on an item: "Start course"
    items: tuple[Item, ...]

    def find(self, slug: str) -> Item | None:
        return next((item for item in self.items if item.slug == slug), None)


ACME = Catalogue(
    tagline="Courses for association members",
    lead="Short, practical courses written by practitioners. Members learn free.",
    noun="course",
    action="Start course",
    items=(
        Item(
            "board-governance",
            "Board governance essentials",
            "Duties, minutes and conflicts of interest, for new board members.",
            "6 lessons · 2 hours",
        ),
        Item(
            "data-for-associations",
            "Data for associations",
            "Read your membership numbers with confidence: retention, cohorts, dues.",
            "8 lessons · 3 hours",
        ),
        Item(
            "event-planning",
            "Planning a great annual meeting",
            "Venues, budgets and a programme people stay for.",
            "5 lessons · 90 minutes",
        ),
    ),
)

CAREERHUB = Catalogue(
    tagline="Jobs for association members",
    lead="Positions posted by employers who know the profession. Members see every listing.",
    noun="job",
    action="View listing",
    items=(
        Item(
            "policy-analyst",
            "Policy analyst",
            "Research and brief a national association's public-policy team.",
            "Full time · Washington, DC",
        ),
        Item(
            "membership-manager",
            "Membership manager",
            "Grow and look after a community of 12,000 members.",
            "Full time · Remote",
        ),
        Item(
            "events-coordinator",
            "Events coordinator",
            "Run regional meetings from the first booking to the last feedback form.",
            "Part time · Chicago, IL",
        ),
    ),
)

CATALOGUES = {"acme": ACME, "careerhub": CAREERHUB}
