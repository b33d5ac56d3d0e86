"""Handlers: the functions that run jobs, registered by kind.

Decorate a function with ``@drip.handler`` (the kind defaults to its name) in
the module that ``drip run`` imports, or collect handlers in a ``Registry``.
A handler receives a ``JobContext`` and may be a plain or an ``async`` function;
plain ones run in a worker thread.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from types import ModuleType
from typing import Any, overload

from drip.durations import Duration, parse_duration
from drip.exceptions import ConfigurationError
from drip.retry import RetryPolicy, resolve_retry_policy

__all__ = ["HandlerSpec", "Registry", "handler", "handlers_in_module"]

HandlerFunction = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class HandlerSpec:
    """A handler with its kind and per-kind settings."""

    kind: str
    function: HandlerFunction
    timeout: timedelta | None = None
    retry: RetryPolicy | None = None

    @functools.cached_property
    def is_async(self) -> bool:
        """Whether the handler is a coroutine function (asked once per handler)."""
        return inspect.iscoroutinefunction(self.function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


@overload
def handler(function: HandlerFunction, /) -> HandlerSpec: ...


@overload
def handler(
    *,
    kind: str | None = None,
    timeout: Duration | None = None,
    retry: RetryPolicy | str | None = None,
) -> Callable[[HandlerFunction], HandlerSpec]: ...


def handler(
    function: HandlerFunction | None = None,
    /,
    *,
    kind: str | None = None,
    timeout: Duration | None = None,
    retry: RetryPolicy | str | None = None,
) -> HandlerSpec | Callable[[HandlerFunction], HandlerSpec]:
    """Mark ``function`` as the handler of ``kind`` (default: its name).

    ``timeout`` bounds each run (a job's own timeout wins); ``retry`` is the
    retry policy for this kind, a callable or a registered policy name.
    """

    def decorate(function: HandlerFunction) -> HandlerSpec:
        if not callable(function):
            raise ConfigurationError(f"a handler must be callable, not {function!r}")
        return HandlerSpec(
            kind=kind or function.__name__,
            function=function,
            timeout=None
            if timeout is None
            else parse_duration(timeout, name="timeout"),
            retry=None if retry is None else resolve_retry_policy(retry),
        )

    if function is not None:
        return decorate(function)
    return decorate


class Registry(Mapping[str, HandlerSpec]):
    """Handlers by kind; each kind has exactly one handler."""

    def __init__(self, handlers: Iterable[HandlerSpec | HandlerFunction] = ()) -> None:
        self._handlers: dict[str, HandlerSpec] = {}
        for item in handlers:
            self.add(item)

    def add(self, item: HandlerSpec | HandlerFunction) -> HandlerSpec:
        spec = item if isinstance(item, HandlerSpec) else handler(item)
        existing = self._handlers.get(spec.kind)
        if existing is not None and existing.function is not spec.function:
            raise ConfigurationError(
                f"two handlers for kind {spec.kind!r}: {_describe(existing)} and "
                f"{_describe(spec)}; give one of them another kind"
            )
        self._handlers[spec.kind] = spec
        return spec

    def handler(
        self, function: HandlerFunction | None = None, /, **options: Any
    ) -> Any:
        """Like ``drip.handler``, also adding the handler to this registry."""
        if function is not None:
            return self.add(handler(function, **options) if options else function)
        return lambda function: self.add(handler(**options)(function))

    def __getitem__(self, kind: str) -> HandlerSpec:
        return self._handlers[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)


def handlers_in_module(module: ModuleType) -> Registry:
    """Every handler a module defines: ``@handler`` functions and ``Registry``s."""
    registry = Registry()
    for value in vars(module).values():
        if isinstance(value, HandlerSpec):
            registry.add(value)
        elif isinstance(value, Registry):
            for spec in value.values():
                registry.add(spec)
    return registry


def _describe(spec: HandlerSpec) -> str:
    function = spec.function
    return f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', function)}"
