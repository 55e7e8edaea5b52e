"""The element tree: what a loader yields and the tree model shows.

An :class:`Element` is plain data. A provider whose loader yields very many rows of one kind (an
S3 folder of 100,000 objects) may make them :class:`PackedElement` subclasses instead: they keep
only the few values the row is made of, and make ``properties``, ``ref``, ``label`` and
``detail`` when they are asked for. Every consumer reads them as usual; one assigned (Details
merging what it fetched into ``properties``) is kept as given.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, ClassVar


@dataclass(slots=True, eq=False)
class Element:
    """One node of a project tree.

    ``kind`` chooses the loader, the actions and the icon (``aws.ec2.instance``); ``id`` is the
    cloud's own id; ``properties`` is everything the Properties view shows; ``ref`` is what a
    loader needs to find the children again (bucket, prefix, region) and is not shown.
    """

    kind: str
    id: str
    label: str
    state: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    has_children: bool = False
    icon: str = ""
    ref: dict[str, Any] = field(default_factory=dict)
    # extra columns in the tree: short text shown beside the label (type, size, address)
    detail: str = ""

    def __eq__(self, other: object) -> bool:
        """Equal when every field is, whichever class holds them (a packed row equals the plain
        Element with the same fields)."""
        if not isinstance(other, Element):
            return NotImplemented
        return self is other or _ALL_FIELDS(self) == _ALL_FIELDS(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        # shallow: asdict() deep-copies every value, ~280 ms for 10,000 rows
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Element":
        return cls(**data)

    def stored(self) -> dict[str, Any]:
        """What the info cache keeps of the element: :meth:`restore` makes it again."""
        return self.to_dict()

    @staticmethod
    def restore(data: dict[str, Any]) -> "Element":
        """The element :meth:`stored` gave ``data``: a packed one as its class (ValueError when no
        class of that kind is loaded), else a plain Element."""
        packed = data.get("packed")
        if packed is None:
            return Element(**data)
        cls = PackedElement.classes.get(data.get("kind"))
        if cls is None:
            raise ValueError(f"no packed element class for kind {data.get('kind')!r}")
        return cls.unpack(packed)


_FIELDS = tuple(f.name for f in fields(Element))
_ALL_FIELDS = attrgetter(*_FIELDS)  # the fields as a tuple, in C
# the slots the derived fields of a PackedElement live in once assigned (None: made when asked)
_DERIVED = ("label", "properties", "ref", "detail")
_SLOT = {name: Element.__dict__[name] for name in _DERIVED}


def _derived(name: str, make: Any) -> property:
    """The field ``name`` of a PackedElement: what was assigned, else ``make(self)``."""
    get_slot, set_slot = _SLOT[name].__get__, _SLOT[name].__set__

    def get(self):
        value = get_slot(self)
        return make(self) if value is None else value

    return property(get, set_slot, doc=f"``{name}``: made from the packed values unless assigned.")


class PackedElement(Element):
    """An Element of one ``KIND`` kept as a few values (``packed()``), for rows there are very many
    of: ``label``, ``properties``, ``ref`` and ``detail`` are made when read (``make_label`` …),
    unless assigned. A subclass sets its own ``__slots__``, ``KIND`` (and ``ICON``, ``STATE``,
    ``HAS_CHILDREN`` when not empty), calls :meth:`_init_base` from its ``__init__``, and gives
    ``packed()`` — JSON values that say everything else, the id included — and ``unpack(values)``;
    defining it registers it, so the info cache can make it again (:meth:`Element.restore`). It
    equals a plain Element with the same fields.

    Why: a row of a 100,000-object folder kept as a plain Element was ~960 bytes (two dicts and
    seven strings, most of them parts of one another); packed, ~400.
    """

    __slots__ = ()
    KIND: ClassVar[str] = ""
    ICON: ClassVar[str] = ""
    STATE: ClassVar[str] = ""
    HAS_CHILDREN: ClassVar[bool] = False
    #: KIND → class, for Element.restore
    classes: ClassVar[dict[str, type["PackedElement"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in _DERIVED:  # each read calls the class's own make_<name>, looked up once here
            setattr(cls, name, _derived(name, getattr(cls, "make_" + name)))
        if cls.KIND:
            PackedElement.classes[cls.KIND] = cls

    def _init_base(self, id: str) -> None:
        self.kind, self.id, self.state, self.has_children, self.icon = (self.KIND, id, self.STATE, self.HAS_CHILDREN,
                                                                        self.ICON)
        for slot in _SLOT.values():
            slot.__set__(self, None)

    def packed(self) -> list:
        raise NotImplementedError

    @classmethod
    def unpack(cls, values: list) -> "PackedElement":
        raise NotImplementedError

    def make_label(self) -> str:
        raise NotImplementedError

    def make_properties(self) -> dict[str, Any]:
        return {}

    def make_ref(self) -> dict[str, Any]:
        return {}

    def make_detail(self) -> str:
        return ""

    def _pristine(self) -> bool:
        """Nothing assigned since it was made: its packed values say all of it."""
        return (self.kind == self.KIND and self.state == self.STATE and self.has_children == self.HAS_CHILDREN
                and self.icon == self.ICON and all(slot.__get__(self) is None for slot in _SLOT.values()))

    def __eq__(self, other: object) -> bool:
        if type(other) is type(self) and self._pristine() and other._pristine():  # type: ignore[union-attr]
            return self.packed() == other.packed()  # type: ignore[union-attr]
        return Element.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def stored(self) -> dict[str, Any]:
        if self._pristine():
            return {"kind": self.KIND, "packed": self.packed()}
        return self.to_dict()  # changed since it was made: kept whole (restored as a plain Element)
