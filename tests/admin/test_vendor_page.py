from werkzeug.datastructures import MultiDict

from portal.admin.vendor_page import read_draft, saved_rows
from portal.catalogue import CATALOGUE
from portal.vendor_rules import FieldChoice


def form(*pairs: tuple[str, str]) -> MultiDict[str, str]:
    return MultiDict(list(pairs))


def test_saved_rows_put_the_selection_first_then_the_catalogue() -> None:
    rows = saved_rows([FieldChoice("Email", "mail"), FieldChoice("ImisId")])
    assert [r.field for r in rows[:3]] == ["Email", "ImisId", "Username"]
    assert (rows[0].selected, rows[0].output_name, rows[2].selected) == (True, "mail", False)
    assert len(rows) == len(CATALOGUE)


def test_the_draft_keeps_the_order_ticks_and_names() -> None:
    draft = read_draft(
        form(("order", "Email"), ("order", "ImisId"), ("fields", "ImisId"), ("fields", "Email"),
             ("output_Email", " mail "))
    )  # fmt: skip
    assert draft.choices == [FieldChoice("Email", "mail"), FieldChoice("ImisId")]
    assert [r.field for r in draft.rows][:2] == ["Email", "ImisId"]


def test_a_move_swaps_with_the_neighbour_and_stops_at_the_ends() -> None:
    base = [("order", "Email"), ("order", "ImisId"), ("fields", "Email"), ("fields", "ImisId")]
    assert [c.field for c in read_draft(form(*base, ("move", "up:ImisId"))).choices] == [
        "ImisId",
        "Email",
    ]
    assert [c.field for c in read_draft(form(*base, ("move", "up:Email"))).choices] == [
        "Email",
        "ImisId",
    ]
    assert [c.field for c in read_draft(form(*base, ("move", "sideways:Email"))).choices] == [
        "Email",
        "ImisId",
    ]


def test_unknown_names_are_kept_for_the_check_to_refuse() -> None:
    draft = read_draft(form(("order", "Nope"), ("fields", "Nope")))
    assert draft.choices == [FieldChoice("Nope")]
    assert "Nope" not in [r.field for r in draft.rows]
