"""What the demo vendor sites show: a few courses (Acme Learning), job listings (CareerHub) or
discussions (Community Forum) or conferences (EventHub Conferences).

Only window dressing: the integration with the portal is all in `portal/demo/vendor.py` and,
for the OpenID Connect site, `portal/demo/oidc_vendor.py`; for the SAML site,
`portal/demo/saml_vendor.py`."""

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

FORUM = Catalogue(
    tagline="Discussions for association members",
    lead="Ask the profession: threads started by members, answered by members.",
    noun="discussion",
    action="Reply",
    items=(
        Item(
            "first-board-meeting",
            "Your first board meeting: what to bring?",
            "New board members share what they wish they had known.",
            "42 replies · Governance",
        ),
        Item(
            "renewal-reminders",
            "Renewal reminders that members read",
            "Subject lines, timing and tone that lifted renewals.",
            "17 replies · Membership",
        ),
        Item(
            "hybrid-events",
            "Hybrid annual meetings: worth it?",
            "Costs, platforms and what remote attendees said afterwards.",
            "28 replies · Events",
        ),
    ),
)

EVENTS = Catalogue(
    tagline="Conferences for association members",
    lead="The profession's meetings in one place. Members register at the member rate.",
    noun="conference",
    action="Register",
    items=(
        Item(
            "annual-meeting",
            "Annual Meeting 2027",
            "Three days of sessions, the awards dinner and the members' assembly.",
            "May 12-14 · Denver, CO",
        ),
        Item(
            "leadership-summit",
            "Volunteer Leadership Summit",
            "For chapter and committee chairs: governance, recruiting, running meetings.",
            "September 9 · Online",
        ),
        Item(
            "data-day",
            "Membership Data Day",
            "A workshop on dashboards, renewal forecasts and what members tell us.",
            "November 4 · Boston, MA",
        ),
    ),
)

CATALOGUES = {"acme": ACME, "careerhub": CAREERHUB, "forum": FORUM, "events": EVENTS}
