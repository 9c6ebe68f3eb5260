"""The `portal` command, in-process against the test database (DATABASE_URL set)."""

import json

import pytest

from portal.crypto import digest
from tests.cli_runner import Runner

ACME = (
    *("vendor", "add", "acme", "--name", "Acme Learning"),
    *("--token-url", "https://acme-learning.com/sso/token", "--domain", "acme-learning.com"),
)


def test_vendor_add_prints_key_and_secret_once(portal: Runner) -> None:
    code, out, err = portal(*ACME, "--json")
    assert (code, err) == (0, "")
    printed = json.loads(out)
    assert printed["key"] == "acme"
    assert len(printed["secret"]) >= 43  # 256 bits, URL-safe
    stored = portal.scalar("SELECT secret_hash FROM vendor_secret")
    assert stored == digest(printed["secret"])
    assert printed["secret"] not in str(
        portal.scalar("SELECT string_agg(secret_hash, '') FROM vendor_secret")
    )
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event = 'vendor.created'") == 1


def test_vendor_add_stores_domains_and_default_fields(portal: Runner) -> None:
    code, _, _ = portal(
        *ACME,
        "--domain",
        "Learn.Acme-Learning.com",
        "--signout-url",
        "https://acme-learning.com/bye",
        "--start-url",
        "https://learn.acme-learning.com/sso/start",
    )
    assert code == 0
    assert (
        portal.scalar("SELECT start_url FROM vendor") == "https://learn.acme-learning.com/sso/start"
    )
    domains = portal.scalar("SELECT string_agg(domain, ',' ORDER BY domain) FROM vendor_domain")
    assert domains == "acme-learning.com,learn.acme-learning.com"
    fields = portal.scalar("SELECT string_agg(field, ',' ORDER BY position) FROM vendor_field")
    assert fields == "ImisId,FirstName,LastName,Email,MemberType"


def test_vendor_add_takes_fields_with_output_names(portal: Runner) -> None:
    assert portal(*ACME, "--fields", "Email=email_address,ImisId")[0] == 0
    rows = portal.scalar(
        "SELECT string_agg(field || ':' || coalesce(output_name, '-'), ',' ORDER BY position) "
        "FROM vendor_field"
    )
    assert rows == "Email:email_address,ImisId:-"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("--domain", "com"), "top-level"),
        (("--domain", "co.uk"), "public suffix"),
        (("--domain", "github.io"), "public suffix"),
        (("--domain", "localhost"), "localhost"),
        (("--token-url", "http://acme-learning.com/sso/token"), "https"),
        (("--signout-url", "https://evil.example/bye"), "sign-out URL"),
        (("--start-url", "https://evil.example/go"), "sign-in start page"),
        (("--fields", "ImisId,Shoesize"), "unknown field"),
        (("--fields", "ImisId,ImisId"), "twice"),
        (("--fields", "ImisId,Email=sid"), "kept for the portal session's id"),
        (("--name", ""), "name"),
    ],
)
def test_vendor_add_refuses_bad_input_and_writes_nothing(
    portal: Runner, change: tuple[str, str], reason: str
) -> None:
    argv = list(ACME)
    option, value = change
    if option in argv and option != "--domain":
        argv[argv.index(option) + 1] = value
    elif option == "--domain":
        argv[argv.index("--domain") + 1] = value
    else:
        argv += [option, value]
    code, out, err = portal(*argv)
    assert code != 0
    assert out == ""
    assert err.startswith("portal: ") and err.count("\n") == 1
    assert reason.lower() in err.lower()
    assert portal.scalar("SELECT count(*) FROM vendor") == 0
    assert portal.scalar("SELECT count(*) FROM audit_event") == 0


@pytest.mark.parametrize("key", ["Acme", "a", "-acme", "acme_learning", "x" * 64])
def test_vendor_add_refuses_bad_keys(portal: Runner, key: str) -> None:
    argv = list(ACME)
    argv[2] = key
    code, _, err = portal(*argv)
    assert code != 0
    assert err.count("\n") == 1
    assert portal.scalar("SELECT count(*) FROM vendor") == 0


def test_vendor_add_refuses_a_duplicate_key(portal: Runner) -> None:
    assert portal(*ACME)[0] == 0
    code, _, err = portal(*ACME)
    assert code == 1
    assert "already exists" in err
    assert portal.scalar("SELECT count(*) FROM vendor") == 1


def test_rotate_secret_for_an_unknown_vendor(portal: Runner) -> None:
    code, _, err = portal("vendor", "rotate-secret", "nobody")
    assert code == 1
    assert "no vendor" in err


def test_member_add_reads_the_password_from_stdin(portal: Runner) -> None:
    code, out, _ = portal(
        "member",
        "add",
        "--imis-id",
        "101",
        "--username",
        "Ada",
        "--email",
        "Ada@Example.org",
        "--first-name",
        "Ada",
        "--last-name",
        "Lovelace",
        "--member-type",
        "REG",
        "--password-stdin",
        "--json",
        stdin="correct horse battery\n",
    )
    assert code == 0
    assert json.loads(out) == {"imis_id": "101", "username": "ada"}
    stored = str(portal.scalar("SELECT password_hash FROM member"))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert portal.scalar("SELECT email FROM member") == "ada@example.org"


@pytest.mark.parametrize(
    ("argv_change", "stdin", "reason"),
    [
        ({"--email": "not-an-email"}, "correct horse battery\n", "email"),
        ({"--imis-id": "10 1"}, "correct horse battery\n", "iMIS ID may use only"),
        ({}, "short\n", "at least 8"),
        ({}, "\n", "no password"),
    ],
)
def test_member_add_refuses_bad_input(
    portal: Runner, argv_change: dict[str, str], stdin: str, reason: str
) -> None:
    values = {
        "--imis-id": "101",
        "--username": "ada",
        "--email": "ada@example.org",
        "--first-name": "Ada",
        "--last-name": "Lovelace",
        "--member-type": "REG",
    }
    values.update(argv_change)
    argv = [part for pair in values.items() for part in pair]
    code, _, err = portal("member", "add", *argv, "--password-stdin", stdin=stdin)
    assert code == 1
    assert reason in err
    assert portal.scalar("SELECT count(*) FROM member") == 0


def test_staff_add(portal: Runner) -> None:
    code, out, _ = portal(
        "staff",
        "add",
        "--email",
        "Boss@Example.org",
        "--role",
        "admin",
        "--password-stdin",
        "--json",
        stdin="a long passphrase\n",
    )
    assert code == 0
    assert json.loads(out) == {"email": "boss@example.org", "role": "admin"}
    assert portal.scalar("SELECT role FROM staff") == "admin"


def test_staff_add_refuses_an_unknown_role(portal: Runner) -> None:
    code, _, err = portal(
        "staff",
        "add",
        "--email",
        "x@example.org",
        "--role",
        "owner",
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    assert code == 2
    assert err.startswith("portal: ") and "role" in err
    assert portal.scalar("SELECT count(*) FROM staff") == 0


def test_secrets_never_come_from_argv(portal: Runner) -> None:
    code, _, err = portal(
        "staff",
        "add",
        "--email",
        "x@example.org",
        "--role",
        "admin",
        "--password",
        "a long passphrase",
    )
    assert code == 2
    assert "unrecognized arguments" in err


def test_db_upgrade_twice(portal: Runner) -> None:
    assert portal("db", "upgrade")[:2] == (0, "database is up to date\n")
    assert portal("db", "upgrade")[0] == 0


def test_an_unreachable_database_is_one_line(
    portal: Runner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:9/portal")
    code, _, err = portal(*ACME)
    assert code == 1
    assert err.count("\n") == 1 and "database" in err


def test_staff_unlock_lets_a_locked_out_admin_sign_in_again(portal: Runner) -> None:
    portal("staff", "add", "--email", "jo@example.org", "--role", "admin", "--password-stdin",
           stdin="a long staff password\n")  # fmt: skip
    portal.execute(
        "INSERT INTO sign_in_throttle (scope, subject, consecutive_failures) "
        "VALUES ('account', 'staff:jo@example.org', 100), "
        "('account', 'device:staff:1:abc', 100), ('account', 'staff:other@example.org', 100)"
    )
    code, out, err = portal("staff", "unlock", "JO@example.org", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {"email": "jo@example.org", "unlocked": True}
    assert portal.scalar("SELECT array_agg(subject) FROM sign_in_throttle") == [
        "staff:other@example.org"
    ]
    assert portal.scalar("SELECT count(*) FROM audit_event WHERE event = 'staff.unlocked'") == 1


def test_staff_unlock_of_an_unknown_account_is_one_line(portal: Runner) -> None:
    code, out, err = portal("staff", "unlock", "nobody@example.org")
    assert (code, out) == (1, "")
    assert err == "portal: no staff account 'nobody@example.org'\n"
