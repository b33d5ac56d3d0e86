"""The plugin boundary: hooks, built-ins registered through them, the public API."""

from __future__ import annotations

import inspect

import pytest

import drip
from drip import hookimpl, hookspecs
from drip.database import dialect_for_url
from drip.plugins import plugin_manager, register, reset
from drip.serializers import JSONSerializer, resolve_serializer


@pytest.fixture(autouse=True)
def fresh_plugins():  # type: ignore[no-untyped-def]
    reset()
    yield
    reset()


def test_builtins_register_through_the_hooks() -> None:
    manager = plugin_manager()
    builtins = manager.get_plugin("drip.builtins")

    hooks = {caller.name for caller in manager.get_hookcallers(builtins)}
    assert hooks == {"drip_serializers", "drip_retry_policies"}


def test_a_plugin_overrides_a_builtin_name() -> None:
    class LoudJSON(JSONSerializer):
        pass

    class Plugin:
        @hookimpl
        def drip_serializers(self) -> list[JSONSerializer]:
            return [LoudJSON()]

    register(Plugin(), name="loud")

    assert isinstance(resolve_serializer("json"), LoudJSON)


def test_a_hook_with_a_misspelt_name_fails_at_load_time() -> None:
    class Broken:
        @hookimpl
        def drip_job_finsihed(self, job):  # type: ignore[no-untyped-def]
            return None

    with pytest.raises(drip.ConfigurationError, match="Broken"):
        register(Broken(), name="broken")


def test_unknown_backend_names_what_to_install() -> None:
    import sqlalchemy as sa

    with pytest.raises(drip.DialectNotInstalled, match="install a Drip dialect"):
        dialect_for_url(sa.make_url("oracle://scott@localhost/db"))


def test_every_hook_is_documented_with_its_signature() -> None:
    from pathlib import Path

    plugins_doc = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    for name, spec in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("drip_"):
            assert f"{name}{inspect.signature(spec)}".replace(
                "'", ""
            ) in plugins_doc.replace("'", ""), name


def test_public_api_is_exactly_all() -> None:
    exported = {name for name in vars(drip) if not name.startswith("_")}
    modules = {name for name, value in vars(drip).items() if inspect.ismodule(value)}

    assert set(drip.__all__) == exported - modules
