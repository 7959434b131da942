"""Every kind of report item, found by module: each module of this package defines
`KIND`, an app.services.item_kinds.base.ItemKind. A new kind is a new module here (plus
its migration); nothing else lists the kinds."""

import importlib
import pkgutil
from typing import Any

from app.services.item_kinds.base import ItemKind

AnyKind = ItemKind[Any, Any, Any, Any]


def _discover() -> dict[str, AnyKind]:
    found: dict[str, AnyKind] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        kind = importlib.import_module(f"{__name__}.{info.name}").KIND
        found[kind.path] = kind
    return dict(sorted(found.items(), key=lambda pair: pair[1].order))


KINDS: dict[str, AnyKind] = _discover()
