"""Loading plugins: built-ins first, then every ``drip`` entry point, once.

Set ``DRIP_DISABLE_PLUGIN_AUTOLOAD=1`` to load only the built-ins (and whatever
``register`` adds), for example in tests that want a known set of plugins.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from typing import Any

import pluggy

from drip import hookspecs
from drip.exceptions import ConfigurationError

__all__ = ["ENTRY_POINT_GROUP", "plugin_manager", "register", "reset"]

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "drip"
_lock = threading.Lock()


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with every plugin loaded and checked."""
    with _lock:
        manager = pluggy.PluginManager(hookspecs.PROJECT)
        manager.add_hookspecs(hookspecs)

        from drip import builtins

        manager.register(builtins, name="drip.builtins")

        if not os.environ.get("DRIP_DISABLE_PLUGIN_AUTOLOAD"):
            _load_entry_points(manager)

        _check(manager)
        return manager


def register(plugin: Any, name: str | None = None) -> None:
    """Register a plugin object by hand, as an entry point would."""
    manager = plugin_manager()
    manager.register(plugin, name=name)
    _check(manager)


def reset() -> None:
    """Forget the loaded plugins; the next use loads them again (for tests)."""
    plugin_manager.cache_clear()


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    try:
        count = manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    except Exception as error:
        raise ConfigurationError(
            f"a plugin in entry-point group {ENTRY_POINT_GROUP!r} failed to load: "
            f"{error!r}; fix or uninstall it, or set DRIP_DISABLE_PLUGIN_AUTOLOAD=1"
        ) from error
    logger.debug("loaded %s plugins", count, extra={"action": "load_plugins"})


def _check(manager: pluggy.PluginManager) -> None:
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as error:
        raise ConfigurationError(
            f"plugin {error.plugin!r} implements a hook Drip does not define: {error}"
        ) from error
