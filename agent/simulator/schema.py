"""The entities the simulator serves: every model and route of the vendor's Swagger.

Fields, types and verbs are generated from the Swagger (`swagger.catalogue`); which fields are
required, read-only, picklists or references comes from the hand-written table in `fieldrules`.
`ENTITIES`, `BY_ROUTE` and `CHILDREN` are built once, when this module is first imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.simulator import fieldrules, swagger


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field as `entityInformation/fields` describes it."""

    name: str
    data_type: str
    length: int = 0
    required: bool = False
    read_only: bool = False
    queryable: bool = True
    reference: str | None = None
    picklist: bool = False
    picklist_parent: str | None = None


@dataclass(frozen=True, slots=True)
class EntitySpec:
    """One entity: its route name, type name, fields and which verbs each URL shape takes."""

    route: str
    type_name: str
    fields: tuple[FieldSpec, ...]
    collection_verbs: frozenset[str] = frozenset()
    item_verbs: frozenset[str] = frozenset({"GET"})
    queryable: bool = True
    has_udfs: bool = False
    marker: str | None = None
    missing_answers_404: bool = False
    by_lower: dict[str, FieldSpec] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.by_lower.update({f.name.lower(): f for f in self.fields})

    def field(self, name: str) -> FieldSpec | None:
        """The field whose name matches `name` without regard to case."""
        return self.by_lower.get(name.lower())

    @property
    def can_create(self) -> bool:
        return "POST" in self.collection_verbs

    @property
    def can_update(self) -> bool:
        return "PATCH" in self.collection_verbs

    @property
    def can_delete(self) -> bool:
        return "DELETE" in self.item_verbs

    @property
    def writable(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if not f.read_only)


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """A child route: the entity it serves, the field naming the parent, and its verbs."""

    entity: EntitySpec
    parent_field: str | None
    collection_verbs: frozenset[str]
    item_verbs: frozenset[str]
    has_info: bool = True


def _spec(model: swagger.ModelEntity) -> EntitySpec:
    rules = fieldrules.RULES.get(model.name, fieldrules.EntityRules())
    required, read_only = fieldrules.names(rules.required), fieldrules.names(rules.read_only)
    picklists, refs = fieldrules.pairs(rules.picklists), fieldrules.pairs(rules.references)
    lengths, hidden = fieldrules.pairs(rules.lengths), fieldrules.names(rules.not_queryable)
    fields = []
    for f in model.fields:
        key = f.name.lower()
        fields.append(
            FieldSpec(
                f.name,
                f.data_type,
                length=int(lengths.get(key, 0)),
                required=key in required,
                read_only=f.read_only or key in read_only or key in fieldrules.SYSTEM_FIELDS,
                queryable=key not in hidden,
                reference=refs.get(key) or None,
                picklist=key in picklists,
                picklist_parent=_canonical(model, picklists.get(key)),
            )
        )
    return EntitySpec(
        route=model.name,
        type_name=model.model.removesuffix("Model"),
        fields=tuple(fields),
        collection_verbs=model.collection_verbs,
        item_verbs=model.item_verbs,
        queryable=model.queryable,
        has_udfs=model.has_udfs,
        marker=rules.marker,
        missing_answers_404=rules.missing_answers_404,
    )


def _canonical(model: swagger.ModelEntity, name: str | None) -> str | None:
    if not name:
        return None
    return next((f.name for f in model.fields if f.name.lower() == name.lower()), None)


def _build() -> tuple[tuple[EntitySpec, ...], dict[tuple[str, str], ChildSpec]]:
    catalogue = swagger.catalogue()
    specs = {name: _spec(m) for name, m in catalogue.entities.items()}
    children = {
        (c.parent.lower(), c.segment.lower()): ChildSpec(
            specs[c.entity], c.parent_field, c.collection_verbs, c.item_verbs, c.has_info
        )
        for c in catalogue.children
    }
    return tuple(specs.values()), children


ENTITIES, CHILDREN = _build()
BY_ROUTE: dict[str, EntitySpec] = {e.route.lower(): e for e in ENTITIES}
# Entities written through a child route (in any verb): `entityInformation` says they can be.
WRITABLE_AS_CHILD: dict[str, frozenset[str]] = {}
for _child in CHILDREN.values():
    _known = WRITABLE_AS_CHILD.get(_child.entity.route, frozenset())
    WRITABLE_AS_CHILD[_child.entity.route] = _known | _child.collection_verbs


def entity(route: str) -> EntitySpec:
    """The entity named `route` (any case); KeyError when the Swagger has none."""
    return BY_ROUTE[route.lower()]
