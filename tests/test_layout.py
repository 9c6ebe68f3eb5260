"""The layout's import rules (docs/layout.md), read from the source of every module of portal/:
front ends never import each other; the core, the directories and the domain never import a
front end, and only the infrastructure named in REQUEST_BOUND uses Quart's request globals; no
cycle between packages. Imports anywhere in a module count, inside functions too."""

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import portal

ROOT = Path(portal.__file__).parent
FRONT_ENDS = ("portal.admin", "portal.enhanced", "portal.oidc", "portal.saml")
# The app's top: create_app wires every front end in, the command line starts the demo.
WIRING = ("portal", "portal.asgi", "portal.cli")
DEMO = "portal.demo"  # the demo vendor sites and `portal demo`: an app of their own
CORE = ("portal.auth", "portal.directory")
REQUEST_GLOBALS = frozenset({"request", "current_app", "g", "session", "websocket"})
# Outside the front ends, only these serve the request in hand, and so may read it: a decision
# kept here, so that a new module reading `request` has to be named (and justified) first.
REQUEST_BOUND = {
    "portal.clock": "the app's clock, which tests replace",
    "portal.db": "the request's one database session, kept in g",
    "portal.device_cookies": "the device cookie on the request and the response",
    "portal.errors": "the error page or JSON for the request's path",
    "portal.observe": "the request's route, for its log line and metrics; /metrics's bearer token",
    "portal.security": "CSRF tokens and the security headers of every response",
    "portal.session_cookies": "the member and staff session cookies on the request",
    "portal.settings": "settings.current(), the running app's settings",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def sources() -> dict[str, tuple[Path, ast.Module]]:
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        found[module_name(path)] = (path, ast.parse(path.read_text(), str(path)))
    return found


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def front_end(module: str) -> str | None:
    return next((name for name in FRONT_ENDS if within(module, name)), None)


def package_of(module: str) -> str:
    path, _ = sources()[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_in(tree: ast.Module, package: str) -> Iterator[tuple[str, str | None]]:
    """(module, name) for every import in `tree`, anywhere in it: name is None for `import x`;
    relative imports (`from . import x`) are resolved against `package`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            source = f"{base}.{node.module}" if node.level and node.module else node.module
            yield from ((source or base, alias.name) for alias in node.names)


def imports(module: str) -> Iterator[tuple[str, str | None]]:
    return imports_in(sources()[module][1], package_of(module))


@cache
def portal_imports() -> dict[str, frozenset[str]]:
    """{module: the portal modules it imports}. `from portal.x import y` imports portal.x.y when
    that is a module (`from portal import db`), else portal.x (`from portal import create_app`
    imports portal itself)."""
    graph = {}
    for module in sources():
        targets = set()
        for source, name in imports(module):
            if not within(source, "portal"):
                continue
            submodule = f"{source}.{name}"
            targets.add(submodule if name and submodule in sources() else source)
        graph[module] = frozenset(targets - {module})
    return graph


def request_globals(module: str) -> set[str]:
    found = set()
    for source, name in imports(module):
        if source == "quart" and name is None:
            found.add("quart")  # `import quart` reaches every global as quart.request
        elif within(source, "quart") and name in REQUEST_GLOBALS:
            found.add(name)
    return found


def edges(wrong: list[tuple[str, str]]) -> str:
    return "\n".join(f"{module} imports {target}" for module, target in sorted(wrong))


def test_front_ends_never_import_each_other_the_demo_or_the_apps_top() -> None:
    wrong = [
        (module, target)
        for module, targets in portal_imports().items()
        if (own := front_end(module))
        for target in targets
        if front_end(target) not in (None, own) or target in WIRING or within(target, DEMO)
    ]
    assert not wrong, "a front end asks the core and the domain, never another front end:\n" + (
        edges(wrong)
    )


def test_the_core_and_the_domain_never_import_a_front_end() -> None:
    wrong = [
        (module, target)
        for module, targets in portal_imports().items()
        if not front_end(module) and module not in WIRING and not within(module, DEMO)
        for target in targets
        if front_end(target) or target in WIRING or within(target, DEMO)
    ]
    assert not wrong, "the core and the domain must work under any front end:\n" + edges(wrong)


def test_only_request_bound_infrastructure_reads_quarts_request_globals() -> None:
    wrong = {
        module: sorted(used)
        for module in sources()
        if not front_end(module) and not within(module, DEMO) and module not in REQUEST_BOUND
        if (used := request_globals(module))
    }
    assert not wrong, (
        "pass what the request says in as arguments (or name the module in REQUEST_BOUND, "
        f"saying why): {wrong}"
    )


def test_the_request_bound_list_names_only_modules_that_need_it() -> None:
    """An entry with nothing to excuse is an exception nobody decided on: remove it."""
    idle = [module for module in REQUEST_BOUND if not request_globals(module)]
    assert not idle


def test_the_core_imports_nothing_of_quart() -> None:
    wrong = {
        module: sorted({source for source, _ in imports(module) if within(source, "quart")})
        for module in sources()
        if any(within(module, core) for core in CORE)
    }
    assert not {module: used for module, used in wrong.items() if used}


# Each protocol's own tables, by model class and by SQL name: only its front end, which declares
# them (its models.py), may name them; the rest asks through portal/front_ends.py.
OWN_TABLES = {
    "portal.enhanced": ("SsoToken", "sso_token"),
    "portal.oidc": ("OidcGrant", "OidcToken", "oidc_grant", "oidc_token"),
    "portal.saml": (
        "SamlServiceProvider",
        "SamlSessionNameId",
        "saml_service_provider",
        "saml_session_name_id",
    ),
}


def names_in(tree: ast.Module, *, words_of_strings: bool = True) -> Iterator[str]:
    """Every identifier a module uses, defines or imports (each part of a dotted one), every
    keyword and parameter name, and every string it holds: whole, and (unless told not to) word
    by word — SQL included, docstrings too."""
    for found in ast.walk(tree):
        if isinstance(found, ast.Name):
            yield found.id
        elif isinstance(found, ast.Attribute):
            yield found.attr
        elif isinstance(found, ast.alias):
            yield from found.name.split(".")
        elif isinstance(found, ast.ImportFrom) and found.module:
            yield from found.module.split(".")
        elif (isinstance(found, ast.keyword) and found.arg) or isinstance(found, ast.arg):
            yield found.arg
        elif isinstance(found, ast.Constant) and isinstance(found.value, str):
            yield found.value
            if words_of_strings:
                yield from re.findall(r"\w+", found.value)


def test_only_a_front_end_names_its_protocols_tables() -> None:
    wrong = {
        module: sorted(named)
        for module, (_, tree) in sources().items()
        if (
            named := {
                name
                for owner, tables in OWN_TABLES.items()
                if not within(module, owner)
                for name in set(names_in(tree)) & set(tables)
            }
        )
    }
    assert not wrong, f"ask the front end through portal/front_ends.py instead: {wrong}"


def test_the_table_check_sees_names_and_sql() -> None:
    snippet = (
        'from portal.models import SsoToken\nQ = "DELETE FROM oidc_token WHERE x"\nmodels.OidcGrant'
    )
    assert {"SsoToken", "oidc_token", "OidcGrant"} <= set(names_in(ast.parse(snippet)))


def node(module: str) -> str:
    """The package a module counts for: each subpackage and each top-level module is one."""
    return ".".join(module.split(".")[:2])


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph`, as the nodes along it, or None (a depth-first search)."""
    done: set[str] = set()

    def visit(start: str, path: list[str]) -> list[str] | None:
        for target in sorted(graph.get(start, ())):
            if target in path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target, [*path, target])
                if found:
                    return found
        done.add(start)
        return None

    return next((found for start in sorted(graph) if (found := visit(start, [start]))), None)


def test_no_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for module, targets in portal_imports().items():
        graph.setdefault(node(module), set()).update(
            node(target) for target in targets if node(target) != node(module)
        )
    found = cycle(graph)
    assert found is None, "packages import each other: " + " → ".join(found or [])


def test_the_rules_see_every_kind_of_import() -> None:
    """The rules are only as good as the graph: imports inside functions count, relative ones are
    resolved, `from portal import x` is an import of the module portal.x when there is one."""
    snippet = "def f():\n    from . import db\n    from ..auth import sessions\n    import quart\n"
    found = set(imports_in(ast.parse(snippet), "portal.enhanced"))
    assert found == {("portal.enhanced", "db"), ("portal.auth", "sessions"), ("quart", None)}
    graph = portal_imports()
    assert "portal.urls" in graph["portal.vendors"]
    assert "portal.admin" in graph["portal"] and "portal.enhanced.views" in graph["portal"]
    assert "portal" in graph["portal.demo.run"]  # from portal import create_app
    assert {"request", "current_app"} <= request_globals("portal.enhanced.views")
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
