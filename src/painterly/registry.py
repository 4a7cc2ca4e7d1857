"""A tiny name -> object registry, used for backbones, losses, optimisers and networks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import PainterlyError, suggest

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects; unknown names fail with a suggestion of the closest one."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise PainterlyError(
                f"unknown {self.kind} '{name}'{suggest(name, self._items)} (choices: {', '.join(self._items)})"
            ) from None

    def names(self) -> list[str]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
