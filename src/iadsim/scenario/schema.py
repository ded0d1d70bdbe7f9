"""The scenario language: typed, immutable pydantic v2 models of a scenario file.

Every model forbids unknown fields, so a misspelt field is an error, not a silent default.
Units are in the field names at this edge (``max_range_km``, ``alt_m``); ``iadsim.world``
converts them to SI.

Provenance rule: every numeric parameter that is set carries either a source
(``sources: {field: [source ids]}``) or an assumption with its reason
(``assumed: {field: "why"}``). Units and places carry a ``source`` list that covers the
whole record, with ``assumed`` for the parts no source gives.

A number may also carry its plausible range (``ranges: {field: {low, high, reason}}``), which
sensitivity studies sample; a choice between published alternatives is a named variant
(``variants:``). A value that a scenario file overrides is provenance of its own: the loader
records the file and line in ``overridden: {field: "file:line"}`` and drops the inherited
source, assumption and range of that field (docs/scenario-language.md).
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import functools
import typing
from importlib import resources
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import to_jsonable_python

from iadsim.scenario.locations import attach_locations, attach_removed, scenario_locations, scenario_removed

__all__ = [
    "COUNT_LIMIT",
    "MAX_CLOCK_STEPS",
    "UNIT_LIMITS",
    "AircraftRole",
    "AircraftType",
    "AltitudeReference",
    "Arrangement",
    "ArrangementRules",
    "AssumedRange",
    "C2Settings",
    "Catalog",
    "CivilTraffic",
    "CommandNode",
    "CommandNodeKind",
    "CommandSystemType",
    "DataPeriod",
    "DateRange",
    "Emitter",
    "EngagementSettings",
    "EquipmentItem",
    "Event",
    "EventKind",
    "FiringDoctrine",
    "Flight",
    "JammerType",
    "Link",
    "Milestone",
    "MissileType",
    "Nation",
    "Orbit",
    "PassiveSensorType",
    "Place",
    "RadarRole",
    "RadarType",
    "Raid",
    "RangeDistribution",
    "RcsClass",
    "ReadinessDefault",
    "ReadinessState",
    "SamSystemType",
    "Scenario",
    "SensingSettings",
    "Side",
    "Source",
    "TrackingSettings",
    "Traffic",
    "Unit",
    "UnitKind",
    "Variant",
    "VariantOption",
    "Waypoint",
    "default_sensing_settings",
    "default_tracking_settings",
]

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", min_length=1, max_length=80),
]
"""An id: a letter, then letters, digits, ``_`` or ``-`` (used as mapping keys and references)."""

SourceId = Annotated[str, StringConstraints(min_length=1, max_length=80)]
NonEmptyText = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]


UNIT_LIMITS: dict[str, tuple[float, str]] = {
    "_km": (20_000.0, "half the Earth's circumference"),
    "_m": (20_000_000.0, "half the Earth's circumference"),
    "_m2": (1_000_000.0, "a radar cross-section larger than any ship's"),
    "_kmh": (36_000.0, "10 km/s, faster than any air-breathing or ballistic target"),
    "_mps": (10_000.0, "faster than any air-breathing or ballistic target"),
    "_s": (30 * 86_400.0, "the longest scenario, 30 days"),
    "_min": (30 * 1_440.0, "the longest scenario, 30 days"),
    "_deg": (360.0, "a full turn"),
    "_db": (300.0, "beyond any radar's dynamic range"),
    "_dbi": (300.0, "beyond any radar's dynamic range"),
    "_w": (1e9, "a gigawatt"),
    "_mhz": (1e6, "1 THz, beyond radar bands"),
    "_kg": (100_000.0, "heavier than any missile warhead"),
    "_m2ps3": (1e6, "a manoeuvre far beyond any aircraft's"),
}
"""The largest magnitude a field with a unit in its name may have (the unit's suffix): a limit of
what is physical, not of what is plausible, so that no value reaches a model as an overflow.
Fields with a tighter range say it in their own ``Field``. Numbers without a unit (counts,
factors) are at most :data:`COUNT_LIMIT`. Every number is finite (no ``.inf``/``.nan``)."""

MAX_CLOCK_STEPS = 3_000_000
"""Most clock steps of a run (``duration_s / tick_s``): 30 days at 1 s is 2.6 million."""

COUNT_LIMIT = 10_000_000
"""The largest count or factor without a unit (a raid's ``count`` is also bounded by memory)."""


_SUFFIXES = sorted(UNIT_LIMITS, key=len, reverse=True)


@functools.cache
def _unit_limit(model: type[BaseModel], field: str) -> tuple[float, str] | None:
    """The limit of ``model.field`` by its unit, or None where its own Field sets an upper bound."""
    info = model.model_fields.get(field)
    if info is None or any(hasattr(m, "le") or hasattr(m, "lt") for m in info.metadata):
        return None
    for suffix in _SUFFIXES:
        if field.endswith(suffix):
            return UNIT_LIMITS[suffix]
    return float(COUNT_LIMIT), "no count or factor without a unit is larger"


@functools.cache
def _numeric_kind(annotation: Any) -> str | None:
    """'int' or 'float' for a (possibly optional) number annotation, else None."""
    args = typing.get_args(annotation) if typing.get_origin(annotation) is not None else (annotation,)
    kinds = {a for a in args if a is not type(None)}
    if kinds and kinds <= {int, float}:
        return "float" if float in kinds else "int"
    return None


class _Frozen(BaseModel):
    # allow_inf_nan: `.inf` and `.nan` are refused in every float field (they would reach a model
    # as a ZeroDivision, an Overflow or a NaN in an output)
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True,
                              allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """``count: true`` is not a count: YAML booleans are refused where a number is expected."""
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            annotation: Any = field.annotation if field is not None else None
            kind = _numeric_kind(annotation)
            if kind is not None:
                what = "a whole number" if kind == "int" else "a number"
                raise ValueError(f"expected {what}, not the boolean {str(value).lower()}")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _physical(cls, value: Any, info: ValidationInfo) -> Any:
        """Every number within the physical limit of its unit (:data:`UNIT_LIMITS`)."""
        if isinstance(value, (int, float)) and not isinstance(value, bool) and info.field_name:
            bound = _unit_limit(cls, info.field_name)
            if bound is None:
                return value
            limit, why = bound
            if abs(value) > limit:
                raise ValueError(f"{value:g} is beyond the physical limit of ±{limit:g} for "
                                 f"this field ({why})")
        return value


class RangeDistribution(enum.StrEnum):
    """How a sensitivity study samples a range: uniform, triangular with its mode at the value, or
    uniform in the logarithm (for quantities known to within a factor)."""

    uniform = "uniform"
    triangular = "triangular"
    loguniform = "loguniform"


class AssumedRange(_Frozen):
    """The plausible range of a number and why: absolute bounds (``low``, ``high``, in the field's
    unit) or bounds relative to the value (``low_factor``, ``high_factor``), so that one range can be
    shared by many records with a YAML anchor. Fields with the same ``group`` rest on one assumption
    (e.g. the catalog's detection-range convention) and move together in a sensitivity study."""

    low: float | None = None
    high: float | None = None
    low_factor: float | None = Field(None, gt=0)
    high_factor: float | None = Field(None, gt=0)
    distribution: RangeDistribution = RangeDistribution.uniform
    group: Identifier | None = Field(
        None, description="fields of one group are one assumption: sampled together, by quantile")
    reason: NonEmptyText

    @model_validator(mode="after")
    def _bounds_given_and_ordered(self) -> AssumedRange:
        absolute = self.low is not None or self.high is not None
        relative = self.low_factor is not None or self.high_factor is not None
        if absolute == relative:
            raise ValueError("a range gives either low and high, or low_factor and high_factor")
        lo, hi = ((self.low, self.high) if absolute else (self.low_factor, self.high_factor))
        names = ("low", "high") if absolute else ("low_factor", "high_factor")
        if lo is None or hi is None:
            raise ValueError(f"a range needs both {names[0]} and {names[1]}")
        if lo >= hi:
            raise ValueError(f"{names[0]} ({lo:g}) must be below {names[1]} ({hi:g})")
        if self.distribution is RangeDistribution.loguniform and lo <= 0:
            raise ValueError(f"a loguniform range needs {names[0]} > 0 (given {lo:g})")
        return self

    def bounds(self, value: float) -> tuple[float, float]:
        """(low, high) in the field's unit, for the field's ``value`` (factors of a negative value,
        a level in dB say, give the lower bound from ``high_factor``)."""
        if self.low is not None and self.high is not None:
            return self.low, self.high
        assert self.low_factor is not None and self.high_factor is not None
        a, b = value * self.low_factor, value * self.high_factor
        return min(a, b), max(a, b)

    def describe(self, value: float) -> str:
        """'150 – 250 (uniform)': the bounds for ``value`` and the distribution."""
        lo, hi = self.bounds(value)
        return f"{lo:.4g} – {hi:.4g} ({self.distribution.value})"


RANGES_PREFIX = "ranges."
"""Messages about one field's range start with ``ranges.FIELD:`` so the loader can point at it."""


class Sourced(_Frozen):
    """A record whose numeric fields each carry a source or a stated assumption."""

    sources: dict[str, list[SourceId]] = Field(default_factory=dict)
    assumed: dict[str, NonEmptyText] = Field(default_factory=dict)
    ranges: dict[str, AssumedRange] = Field(
        default_factory=dict, description="field -> its plausible range (sensitivity studies)")
    overridden: dict[str, NonEmptyText] = Field(
        default_factory=dict, description="field -> the scenario file and line that set it "
        "(filled by the loader when a file overrides an included value)")

    #: Fields that are facts about a real system and therefore need provenance.
    _numeric_fields: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _every_number_has_provenance(self) -> Sourced:
        known = set(self._numeric_fields)
        for key, rng in self.ranges.items():
            value = getattr(self, key, None) if key in known else None
            if key not in known:
                allowed = ", ".join(sorted(known)) or "(none)"
                raise ValueError(f"{RANGES_PREFIX}{key}: a range for '{key}', which is not a numeric "
                                 f"field of this record (allowed: {allowed})")
            if value is None:
                raise ValueError(f"{RANGES_PREFIX}{key}: a range for '{key}', which is not set")
            lo, hi = rng.bounds(float(value))
            if not lo <= float(value) <= hi:
                raise ValueError(f"{RANGES_PREFIX}{key}: {key} = {value:g} lies outside its own "
                                 f"range {lo:g} – {hi:g}")
        problems: list[str] = []
        for name in self._numeric_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if name not in self.sources and name not in self.assumed and name not in self.overridden:
                problems.append(
                    f"{name} = {value} has no provenance: add `sources: {{{name}: [ID]}}` "
                    f"or `assumed: {{{name}: \"reason\"}}`"
                )
            if name in self.sources and not self.sources[name]:
                problems.append(f"sources.{name} is an empty list: name at least one source")
        for key in list(self.sources) + list(self.assumed) + list(self.overridden):
            if key not in known:
                allowed = ", ".join(sorted(known)) or "(none)"
                problems.append(
                    f"provenance given for '{key}', which is not a numeric field of this "
                    f"record (allowed: {allowed})"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def provenance(self, name: str) -> str:
        """How field ``name`` is known: 'source: S07, S09', 'assumed: reason' or 'set in FILE:LINE'."""
        if name in self.overridden:
            return "set in " + self.overridden[name]
        if name in self.sources:
            return "source: " + ", ".join(self.sources[name])
        if name in self.assumed:
            return "assumed: " + self.assumed[name]
        return "not set"


def _numeric_field_names(model: type[BaseModel]) -> tuple[str, ...]:
    """Names of the fields annotated ``float``/``int`` (optional or not) of ``model``."""
    names = []
    for name, info in model.model_fields.items():
        members = set(typing.get_args(info.annotation)) or {info.annotation}
        if members & {float, int}:
            names.append(name)
    return tuple(names)


# ---------------------------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------------------------


class Confidence(enum.StrEnum):
    """Confidence codes of the reference fact sheet."""

    C = "C"  # consistent across two or more retrieved sources
    S = "S"  # single retrieved source
    M = "M"  # marketing or official claim
    U = "U"  # not confirmed by a retrieved source
    X = "X"  # sources conflict


class Source(_Frozen):
    """A public source that facts cite by id."""

    title: NonEmptyText
    url: str | None = None
    date: dt.date | None = None
    publisher: str | None = None
    confidence: Confidence | None = None
    note: str | None = None


# ---------------------------------------------------------------------------------------------
# Equipment catalog
# ---------------------------------------------------------------------------------------------


class RadarRole(enum.StrEnum):
    surveillance = "surveillance"
    low_altitude = "low_altitude"
    acquisition = "acquisition"
    fire_control = "fire_control"
    airborne = "airborne"
    ballistic_early_warning = "ballistic_early_warning"


class RadarType(Sourced):
    """A radar type: detection performance against a reference target, geometry, accuracy."""

    name: NonEmptyText
    role: RadarRole
    band: str | None = None
    dimensions: int | None = Field(
        None, ge=2, le=3, description="2 (range, azimuth) or 3 (adds height); None = not public"
    )
    detection_range_km: float | None = Field(
        None, gt=0, description="range at reference_rcs_m2 and reference_pd"
    )
    reference_rcs_m2: float | None = Field(None, gt=0)
    reference_pd: float | None = Field(None, gt=0, lt=1)
    instrumented_range_km: float | None = Field(None, gt=0)
    max_altitude_km: float | None = Field(None, gt=0)
    min_elevation_deg: float | None = Field(None, ge=-10, le=90)
    max_elevation_deg: float | None = Field(None, ge=-10, le=90)
    antenna_height_m: float | None = Field(None, ge=0, le=1000)
    scan_period_s: float | None = Field(None, ge=0.05, le=3600)
    sigma_range_m: float | None = Field(None, gt=0)
    sigma_azimuth_deg: float | None = Field(None, gt=0)
    sigma_elevation_deg: float | None = Field(None, gt=0)
    max_tracks: int | None = Field(None, gt=0)
    false_alarm_probability: float | None = Field(None, gt=0, lt=0.1)
    frequency_mhz: float | None = Field(None, gt=0, description="carrier, for λ in the jamming model")
    bandwidth_mhz: float | None = Field(None, gt=0, description="receiver bandwidth; range resolution c/2B")
    antenna_gain_dbi: float | None = Field(None, ge=0, le=60)
    sidelobe_level_db: float | None = Field(None, le=0, description="sidelobe gain relative to the main lobe")
    beamwidth_azimuth_deg: float | None = Field(None, gt=0, le=360)
    noise_figure_db: float | None = Field(None, ge=0, le=30)
    losses_db: float | None = Field(None, ge=0, le=40)
    clutter_loss_db: float | None = Field(
        None, ge=0, le=60, description="SNR loss on a target at ground level, fading to 0 at clutter_height_m"
    )
    clutter_height_m: float | None = Field(None, gt=0, le=5000)
    note: str | None = None

    @model_validator(mode="after")
    def _elevations_ordered(self) -> RadarType:
        lo, hi = self.min_elevation_deg, self.max_elevation_deg
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"min_elevation_deg ({lo}) must be below max_elevation_deg ({hi})")
        if (self.detection_range_km is None) != (self.reference_rcs_m2 is None):
            raise ValueError("detection_range_km and reference_rcs_m2 go together: give both or neither")
        return self


class MissileType(Sourced):
    """A surface-to-air or air-to-air missile: its kinematic envelope and nominal kill probability."""

    name: NonEmptyText
    max_range_km: float = Field(gt=0)
    min_range_km: float | None = Field(None, ge=0)
    min_altitude_m: float | None = Field(None, ge=0)
    max_altitude_km: float | None = Field(None, gt=0)
    max_speed_mps: float | None = Field(None, gt=0)
    max_target_speed_mps: float | None = Field(None, gt=0)
    single_shot_pk: float | None = Field(None, gt=0, le=1)
    warhead_kg: float | None = Field(None, gt=0)
    zone_of_destruction: str | None = Field(
        None, description="the published zone-of-destruction diagram or table the launch "
        "acceptability region was checked against, with its source, or why there is none")
    note: str | None = None

    @model_validator(mode="after")
    def _envelope_ordered(self) -> MissileType:
        if self.min_range_km is not None and self.min_range_km >= self.max_range_km:
            raise ValueError(
                f"min_range_km ({self.min_range_km}) must be below max_range_km ({self.max_range_km})"
            )
        if (
            self.min_altitude_m is not None
            and self.max_altitude_km is not None
            and self.min_altitude_m >= self.max_altitude_km * 1000.0
        ):
            raise ValueError(
                f"min_altitude_m ({self.min_altitude_m}) must be below max_altitude_km "
                f"({self.max_altitude_km} km)"
            )
        return self


class SamSystemType(Sourced):
    """A surface-to-air missile system type; a unit's count of it is its launcher count."""

    name: NonEmptyText
    missile: Identifier
    fire_control_radar: Identifier | None = None
    acquisition_radar: Identifier | None = None
    fire_channels: int | None = Field(None, gt=0, description="targets engaged at once per fire unit")
    missiles_per_channel: int | None = Field(None, gt=0)
    missiles_per_launcher: int | None = Field(None, gt=0)
    launch_interval_s: float | None = Field(None, gt=0)
    reaction_time_s: float | None = Field(None, gt=0)
    emplacement_time_min: float | None = Field(None, gt=0)
    fire_unit: str = Field("battalion", description="the echelon that forms one fire unit")
    note: str | None = None


class CommandSystemType(Sourced):
    """A regiment's command system: its command post and the surveillance radars that serve the
    regiment's battalions (a unit's count of it is the number of command posts)."""

    name: NonEmptyText
    command_post: str | None = Field(None, description="the command post's designation")
    radars: list[Identifier] = Field(default_factory=list, description="radars of the command post")
    max_battalions: int | None = Field(None, gt=0, description="fire units one command post directs")
    note: str | None = None


class AircraftRole(enum.StrEnum):
    fighter = "fighter"
    multirole = "multirole"
    attack = "attack"
    trainer = "trainer"
    bomber = "bomber"
    transport = "transport"
    aew = "aew"
    cruise_missile = "cruise_missile"
    uav = "uav"
    airliner = "airliner"
    helicopter = "helicopter"


class AircraftType(Sourced):
    """An aircraft or other air object type; ``generic`` types stand for a class, not a model."""

    name: NonEmptyText
    role: AircraftRole
    generic: bool = False
    max_speed_kmh: float | None = Field(None, gt=0)
    cruise_speed_kmh: float | None = Field(None, gt=0)
    ceiling_m: float | None = Field(None, gt=0)
    range_km: float | None = Field(None, gt=0)
    combat_radius_km: float | None = Field(None, gt=0)
    climb_rate_mps: float | None = Field(None, gt=0)
    rcs_m2: float | None = Field(None, gt=0)
    radar: Identifier | None = None
    air_to_air_missile: Identifier | None = None
    note: str | None = None


class JammerType(Sourced):
    """A noise jammer type (stand-off, escort or ground-based)."""

    name: NonEmptyText
    platform: str = Field("airborne", pattern=r"^(airborne|ground)$")
    bands: list[str] = Field(default_factory=list)
    power_w: float | None = Field(None, gt=0)
    antenna_gain_dbi: float | None = None
    bandwidth_mhz: float | None = Field(None, gt=0)
    beamwidth_deg: float | None = Field(None, gt=0, le=360, description="None = omnidirectional")
    note: str | None = None


class PassiveSensorType(Sourced):
    """A passive (ESM) sensor: takes bearings on emitting radars and jammers in its bands."""

    name: NonEmptyText
    bands: list[str] = Field(default_factory=list)
    max_range_km: float | None = Field(None, gt=0)
    bearing_sigma_deg: float | None = Field(None, gt=0)
    scan_period_s: float | None = Field(None, ge=0.05, le=3600)
    antenna_height_m: float | None = Field(None, ge=0, le=1000)
    note: str | None = None


class RcsClass(Sourced):
    """A target radar cross-section class used by coverage maps."""

    name: NonEmptyText
    rcs_m2: float = Field(gt=0)
    speed_mps: float | None = Field(None, gt=0, description="the class's typical speed; coverage "
                                    "computes the launch regions for a target at this speed")
    note: str | None = None


_SOURCED_MODELS: tuple[type[Sourced], ...] = (
    RadarType, MissileType, SamSystemType, CommandSystemType, AircraftType, JammerType,
    PassiveSensorType, RcsClass,
)


class Catalog(_Frozen):
    """The equipment catalog, each kind a mapping from id to type."""

    radars: dict[Identifier, RadarType] = Field(default_factory=dict)
    missiles: dict[Identifier, MissileType] = Field(default_factory=dict)
    sam_systems: dict[Identifier, SamSystemType] = Field(default_factory=dict)
    command_systems: dict[Identifier, CommandSystemType] = Field(default_factory=dict)
    aircraft: dict[Identifier, AircraftType] = Field(default_factory=dict)
    jammers: dict[Identifier, JammerType] = Field(default_factory=dict)
    passive_sensors: dict[Identifier, PassiveSensorType] = Field(default_factory=dict)
    rcs_classes: dict[Identifier, RcsClass] = Field(default_factory=dict)

    def kind_of(self, type_id: str) -> str | None:
        """Which catalog section holds ``type_id`` ('radars', 'sam_systems', ...), or None."""
        for section in ("sam_systems", "command_systems", "radars", "aircraft", "jammers",
                        "passive_sensors", "missiles"):
            if type_id in getattr(self, section):
                return section
        return None


# ---------------------------------------------------------------------------------------------
# Nations, places, units, command
# ---------------------------------------------------------------------------------------------


class Side(enum.StrEnum):
    defender = "defender"
    opposing = "opposing"
    neutral = "neutral"


class Nation(_Frozen):
    name: NonEmptyText
    side: Side
    region: str | None = Field(None, description="id of its region in the bundled borders")


class Place(_Frozen):
    """A town-level location."""

    name: NonEmptyText
    lat_deg: Latitude
    lon_deg: Longitude
    country: str | None = None
    source: list[SourceId] = Field(min_length=1)
    assumed: dict[str, NonEmptyText] = Field(default_factory=dict)
    overridden: dict[str, NonEmptyText] = Field(
        default_factory=dict, description="field -> the scenario file and line that set it")
    note: str | None = None


class DateRange(_Frozen):
    """An in-service period; ``from`` inclusive, ``to`` exclusive; open ends are None."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              allow_inf_nan=False)

    start: dt.date | None = Field(None, alias="from")
    end: dt.date | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(
                f"dates out of order: from {self.start.isoformat()} is not before "
                f"to {self.end.isoformat()}"
            )
        return self

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` falls in the period."""
        return (self.start is None or self.start <= day) and (self.end is None or day < self.end)


class UnitKind(enum.StrEnum):
    sam_brigade = "sam_brigade"
    sam_regiment = "sam_regiment"
    sam_battalion = "sam_battalion"
    sam_battery = "sam_battery"
    radar_brigade = "radar_brigade"
    radar_battalion = "radar_battalion"
    radar_site = "radar_site"
    ew_regiment = "ew_regiment"
    ew_battalion = "ew_battalion"
    ew_centre = "ew_centre"
    air_base = "air_base"
    air_detachment = "air_detachment"
    communications = "communications"


class EquipmentItem(_Frozen):
    """A number of one catalog type held by a unit (launchers for a SAM system)."""

    type: Identifier
    count: int = Field(ge=0)
    in_service: DateRange = Field(default_factory=DateRange)
    source: list[SourceId] = Field(default_factory=list, description="if not the unit's own")
    assumed: dict[str, NonEmptyText] = Field(default_factory=dict)
    planned: bool = Field(
        False, description="the date is a plan that no retrieved delivery report confirms")
    note: str | None = None


class Unit(_Frozen):
    """A military unit at town level, with its equipment and in-service period."""

    name: NonEmptyText
    nation: Identifier
    kind: UnitKind
    place: Identifier | None = Field(None, description="None where no public source locates it")
    parent: Identifier | None = None
    in_service: DateRange = Field(default_factory=DateRange)
    alert_duty: bool = False
    readiness: Identifier | None = Field(
        None, description="readiness state id; None: the default state of its kind for its duty")
    equipment: list[EquipmentItem] = Field(default_factory=list)
    source: list[SourceId] = Field(min_length=1)
    assumed: dict[str, NonEmptyText] = Field(default_factory=dict)
    overridden: dict[str, NonEmptyText] = Field(
        default_factory=dict, description="field -> the scenario file and line that set it")
    note: str | None = None


class CommandNodeKind(enum.StrEnum):
    national_command = "national_command"
    joint_command = "joint_command"
    strategic_command = "strategic_command"
    central_command_point = "central_command_point"
    operational_command = "operational_command"
    command_post = "command_post"


class CommandNode(Sourced):
    """A command node: where a picture is fused and orders are given."""

    name: NonEmptyText
    nation: Identifier
    kind: CommandNodeKind
    place: Identifier | None = None
    superior: Identifier | None = None
    in_service: DateRange = Field(default_factory=DateRange)
    processing_delay_s: float | None = Field(None, ge=0)
    cycle_s: float | None = Field(None, ge=0.05, le=3600,
                                  description="update cycle of its automated command system")
    capacity_tracks: int | None = Field(None, gt=0)
    source: list[SourceId] = Field(min_length=1)
    note: str | None = None


class Link(Sourced):
    """A data link between two command nodes or units."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True,
                              allow_inf_nan=False)

    a: Identifier = Field(alias="from")
    b: Identifier = Field(alias="to")
    bidirectional: bool = True
    latency_s: float | None = Field(None, ge=0)
    jitter_s: float | None = Field(None, ge=0)
    reliability: float | None = Field(None, ge=0, le=1)
    jammed_reliability: float | None = Field(
        None, ge=0, le=1, description="reliability while jammed (link_jammed events); None: 0")
    capacity_tracks_per_s: float | None = Field(None, gt=0)
    in_service: DateRange = Field(default_factory=DateRange)
    note: str | None = None


class ReadinessDefault(enum.StrEnum):
    """Which units take a readiness state when they name none: those on alert duty or the rest."""

    duty = "duty"
    standby = "standby"


class ReadinessState(Sourced):
    """A readiness state: the time a unit in it needs from an order to act (airborne for fighters,
    ready to fire for fire units), and the unit kinds that can hold it."""

    name: NonEmptyText
    unit_kinds: list[UnitKind] = Field(min_length=1)
    time_to_act_s: float = Field(ge=0)
    default_for: ReadinessDefault | None = None
    source: list[SourceId] = Field(default_factory=list)
    note: str | None = None


class C2Settings(Sourced):
    """Model settings of command and control (docs/models/c2.md); none is public, each is sourced
    or assumed in the data."""

    sensor_report_latency_s: float = Field(ge=0, description="radar to its command node")
    node_cycle_s: float = Field(ge=0.05, le=3600, description="cycle of a node that gives none")
    identification_time_s: float = Field(
        ge=0, description="after confirmation, until an uncorrelated track is declared unknown")
    flight_plan_gate_m: float = Field(gt=0, description="track to flight-plan position")
    iff_gate_m: float = Field(gt=0, description="track to an IFF reply")
    scramble_lookahead_s: float = Field(
        ge=0, description="an unknown track predicted inside the airspace within this time is a threat")
    hostile_designation_s: float = Field(
        ge=0, description="wartime: an unknown track in the airspace is designated hostile after this")
    intercept_speed_fraction: float = Field(gt=0, le=1, description="of the fighter's max speed")
    onboard_acquisition_range_m: float = Field(
        gt=0, description="the fighter's radar takes over guidance from the ground within this range")
    visual_identification_range_m: float = Field(gt=0)
    shadow_s: float = Field(ge=0, description="how long the fighters shadow after identification")
    autonomy_delay_s: float = Field(
        ge=0, description="a unit switches to autonomous operation this long after losing its node")
    max_report_age_s: float = Field(
        gt=0, description="a node does not fuse a received track whose newest sensor data is older")
    max_coast_s: float = Field(
        gt=0, description="a node's tracker deletes a track no detection has updated for this long")
    clock_step_s: float = Field(
        ge=0.05, le=60, description="the longest step of the C2 pass's clock (interceptor kinematics, "
        "event times); the step is the shorter of this and the shortest node cycle")
    track_object_distance_m: float = Field(
        gt=0, description="a picture track holds the truth object nearest to it horizontally within "
        "this distance: what an interceptor is sent against and a missile flies at")
    repoint_distance_m: float = Field(
        gt=0, description="a pair whose track the picture dropped is handed a new unknown track this "
        "close to its last aim rather than scrambling another pair")
    note: str | None = None


class TrackingSettings(Sourced):
    """Model numbers of the command nodes' trackers and track-to-track fusion
    (docs/models/tracking.md). None is a fact about a Belarusian or Russian system; each is a model
    convention, stated in the data. The bundled reference data supply them
    (``data/reference/tracking.yaml``); a scenario that gives no ``tracking:`` section takes the same
    values (``default_tracking_settings``), as does ``iadsim track``.
    """

    process_noise_horizontal_m2ps3: float = Field(
        ge=0, description="white-acceleration spectral density on east and north")
    process_noise_vertical_m2ps3: float = Field(ge=0, description="the same on up")
    gate_probability: float = Field(gt=0, lt=1, description="probability mass inside the chi-square gate")
    confirm_hits: int = Field(ge=0, description="M of M-of-N confirmation after initiation")
    confirm_window: int = Field(ge=1, le=62, description="N of M-of-N confirmation")
    delete_misses: int = Field(ge=1, description="consecutive missed opportunities that delete a track")
    max_position_std_m: float = Field(gt=0, description="a track vaguer than this is deleted")
    initial_speed_std_mps: float = Field(gt=0, description="prior of a new track's horizontal velocity")
    initial_vertical_speed_std_mps: float = Field(gt=0, description="prior of its vertical velocity")
    prior_altitude_m: float = Field(description="where a 2D radar's detection is placed")
    prior_altitude_std_m: float = Field(gt=0, description="its standard deviation")
    altitude_known_std_m: float = Field(gt=0, description="a track reports an altitude below this")
    coverage_margin: float = Field(gt=0, description="a scan is an opportunity within this × its reach")
    max_speed_mps: float = Field(gt=0, description="two-point initiation's speed gate")
    candidate_misses: int = Field(ge=0, description="opportunities a candidate may miss")
    fusion_gate_probability: float = Field(
        gt=0, lt=1, description="track-to-track correlation gate of a node's fusion")
    note: str | None = None

    @model_validator(mode="after")
    def _confirmable(self) -> TrackingSettings:
        if self.confirm_hits > self.confirm_window:
            raise ValueError(f"confirm_hits ({self.confirm_hits}) is more than confirm_window "
                             f"({self.confirm_window}): M of M-of-N cannot exceed N, so no track would "
                             "ever be confirmed")
        return self


class SensingSettings(Sourced):
    """Model numbers of the sensing pass (docs/models/detection.md, ew.md, engine.md): the value a
    radar or passive sensor type takes for a figure it does not give, and the conventions of the
    radar and EW models. None is a fact about a real system; each is sourced or assumed in the data.

    The bundled reference data supply them (``data/reference/sensing.yaml``); a scenario that
    gives no ``sensing:`` section takes the same values (``default_sensing_settings``).
    """

    default_reference_pd: float = Field(
        gt=0, lt=1, description="Pd at the detection range of a radar type that gives no reference_pd")
    default_false_alarm_probability: float = Field(
        gt=0, lt=0.1, description="Pfa per resolution cell of a radar type that gives none")
    default_scan_period_s: float = Field(
        ge=0.05, le=3600, description="scan period of a radar or passive sensor type that gives none")
    default_dimensions: int = Field(ge=2, le=3, description="of a radar type that gives none")
    default_sigma_range_m: float = Field(ge=0, description="range noise of a radar type that gives none")
    default_sigma_azimuth_deg: float = Field(
        ge=0, description="azimuth noise of a radar type that gives none")
    default_sigma_elevation_deg: float = Field(
        ge=0, description="elevation noise of a 3D radar type that gives none")
    default_instrumented_range_factor: float = Field(
        gt=0, description="instrumented range of a radar type that gives none, × its detection range")
    default_clutter_height_m: float = Field(
        gt=0, description="height where a clutter loss fades to 0, for a radar type that gives the loss only")
    default_bandwidth_mhz: float = Field(
        gt=0, description="receiver bandwidth: false-alarm range cells of a radar type that gives none, "
        "and a hostile aircraft radar's noise bandwidth")
    default_beamwidth_deg: float = Field(
        gt=0, le=360, description="azimuth beamwidth: false-alarm beam positions and the jamming main lobe "
        "of a radar type that gives none")
    default_sidelobe_db: float = Field(
        le=0, description="side-lobe level of a radar type that gives none (jamming through side lobes)")
    default_antenna_gain_dbi: float = Field(
        ge=0, description="main-lobe gain of a hostile aircraft radar type that gives none")
    default_noise_figure_db: float = Field(
        ge=0, description="receiver noise figure of a hostile aircraft radar type that gives none")
    default_losses_db: float = Field(
        ge=0, description="receive losses of a hostile aircraft radar type that gives none")
    default_bearing_sigma_deg: float = Field(
        gt=0, description="bearing noise of a passive sensor type that gives none")
    false_alarm_max_elevation_deg: float = Field(
        gt=0, le=90, description="a 3D radar's false alarms lie uniformly between 0° and this elevation")
    jammer_sidelobe_db: float = Field(
        le=0, description="side-lobe level of a jammer antenna whose azimuth the scenario fixes")
    jammer_horizon_elevation_deg: float = Field(
        ge=-90, le=90, description="a jammer seen from a radar below this elevation does not reach it")
    fighter_radar_sector_half_width_deg: float = Field(
        gt=0, le=180, description="an airborne radar's search sector around the aircraft's heading")
    ew_effect_period_s: float = Field(
        ge=0.05, le=3600,
        description="how often the defender's jamming of hostile aircraft radars is evaluated")
    terrain_grid_km: float = Field(
        gt=0, le=50, description="cell size of the ground radars' terrain viewsheds in the engine")
    note: str | None = None


class FiringDoctrine(enum.StrEnum):
    """How many missiles a fire unit fires at a target per engagement."""

    shoot_look_shoot = "shoot_look_shoot"  # one, assess, then re-engage if it survived
    salvo_of_two = "salvo_of_two"  # two at once, then assess


class EngagementSettings(Sourced):
    """Settings of the engagement model (docs/models/engagement.md): doctrine, timings, magazines,
    threat weights and asset values; none is public, each is sourced or assumed in the data."""

    doctrine: FiringDoctrine = FiringDoctrine.shoot_look_shoot
    assignment: Literal["auto", "exact", "greedy"] = "auto"
    kill_assessment_s: float = Field(ge=0, description="after intercept, until the result is known")
    reload_time_s: float = Field(gt=0, description="to reload a fire unit's launchers from reserve")
    reserve_loads: int = Field(ge=0, description="full reloads a fire unit carries in reserve")
    jammed_pk_factor: float = Field(
        ge=0, le=1, description="Pk multiplier against a target seen under jamming lately "
        "(within jamming_memory_s)")
    jamming_memory_s: float = Field(
        gt=0, description="a target counts as under jamming when a radar detected it jammed within "
        "this many seconds")
    fighter_missiles_per_pair: int = Field(
        ge=0, description="air-to-air missiles an interceptor pair carries")
    air_to_air_launch_fraction: float = Field(
        gt=0, le=1, description="a pair fires within this fraction of its missile's maximum range")
    type_weight: dict[AircraftRole, float] = Field(
        default_factory=dict, description="threat weight by role; roles not listed weigh 1")
    asset_value: dict[str, float] = Field(
        default_factory=dict, description="value of air_base, command_node and fire_unit assets")
    note: str | None = None


_ALL_SOURCED: tuple[type[Sourced], ...] = (*_SOURCED_MODELS, CommandNode, Link, ReadinessState,
                                           C2Settings, EngagementSettings, SensingSettings, TrackingSettings)
for _model in _ALL_SOURCED:
    _model._numeric_fields = _numeric_field_names(_model)


class Arrangement(enum.StrEnum):
    """The four command arrangements of the design."""

    national = "national"
    exchange = "exchange"
    joint = "joint"
    wartime = "wartime"


class ArrangementRules(_Frozen):
    """What one command arrangement means in the model (docs/models/c2.md): whose tracks flow where,
    who decides on a track in which airspace, and whose units the deciding node may task."""

    description: NonEmptyText
    cross_border_sharing: bool = Field(
        description="tracks flow over links between command nodes of different nations")
    joint_command_active: bool = Field(
        description="command nodes of kind joint_command fuse, relay and decide")
    authority: dict[Identifier, Identifier] = Field(
        min_length=1, description="airspace (nation id) -> the command node that decides there")
    may_task: dict[Identifier, list[Identifier]] = Field(
        default_factory=dict, description="deciding node -> nations whose units it may task")
    wartime_rules: bool = Field(
        False, description="unknown tracks in the airspace are designated hostile")
    source: list[SourceId] = Field(min_length=1)
    note: str | None = None


class Milestone(_Frozen):
    """A dated event in the history of the system, drawn on timelines of the reports."""

    date: dt.date
    label: NonEmptyText
    arrangement: Arrangement | None = Field(
        None, description="the command arrangement the event brings in, if any"
    )
    source: list[SourceId] = Field(min_length=1)
    note: str | None = None


class DataPeriod(_Frozen):
    """The dates a data set describes, both inclusive: before ``from`` and after ``to`` its order
    of battle is not known to be right (units formed, moved or retired that it does not hold)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    note: NonEmptyText = Field(description="why the data end there, for the user who asks for another date")

    @model_validator(mode="after")
    def _ordered(self) -> DataPeriod:
        if self.start > self.end:
            raise ValueError(f"dates out of order: from {self.start.isoformat()} is after "
                             f"to {self.end.isoformat()}")
        return self

    def contains(self, day: dt.date) -> bool:
        """Whether ``day`` falls in the period (both ends inclusive)."""
        return self.start <= day <= self.end


# ---------------------------------------------------------------------------------------------
# Air traffic, EW and events
# ---------------------------------------------------------------------------------------------


class AltitudeReference(enum.StrEnum):
    msl = "msl"
    agl = "agl"


class Waypoint(_Frozen):
    """A route point: a place id, or coordinates; altitude and speed apply from here on."""

    place: Identifier | None = None
    lat_deg: Latitude | None = None
    lon_deg: Longitude | None = None
    alt_m: float | None = Field(None, ge=-500, le=100_000)
    alt_ref: AltitudeReference = AltitudeReference.msl
    speed_kmh: float | None = Field(None, ge=1, le=30_000)

    @model_validator(mode="after")
    def _one_location(self) -> Waypoint:
        has_coords = self.lat_deg is not None or self.lon_deg is not None
        if self.place is not None and has_coords:
            raise ValueError("give either place or lat_deg/lon_deg, not both")
        if self.place is None and (self.lat_deg is None or self.lon_deg is None):
            raise ValueError("a waypoint needs a place, or both lat_deg and lon_deg")
        return self


class Flight(_Frozen):
    """One air object flying a route."""

    type: Identifier
    nation: Identifier
    start_s: float = Field(0.0, ge=0)
    speed_kmh: float = Field(ge=1, le=30_000)
    alt_m: float = Field(ge=-500, le=100_000)
    alt_ref: AltitudeReference = AltitudeReference.msl
    route: list[Waypoint] = Field(min_length=2)
    flight_plan: bool = Field(False, description="filed with air traffic control")
    iff: bool = Field(False, description="answers the defender's IFF")
    radar_on: bool = Field(False, description="the aircraft type's radar radiates")
    callsign: str | None = None
    note: str | None = None


class Raid(_Frozen):
    """A raid generator: ``count`` objects of a type from an area toward destinations."""

    type: Identifier
    nation: Identifier
    count: int = Field(gt=0, le=10_000_000, description="memory is estimated before building")
    start_s: float = Field(0.0, ge=0)
    spread_s: float = Field(0.0, ge=0)
    origin: Waypoint
    origin_radius_km: float = Field(0.0, ge=0, le=2000)
    destinations: list[Waypoint] = Field(min_length=1)
    speed_kmh: float = Field(ge=1, le=30_000)
    alt_m: float = Field(ge=-500, le=100_000)
    alt_ref: AltitudeReference = AltitudeReference.msl
    spread_deg: float = Field(0.0, ge=0, le=180)
    radar_on: bool = Field(False, description="the aircraft type's radar radiates")
    note: str | None = None


class Orbit(_Frozen):
    """A racetrack orbit or patrol (AEW&C, air policing) flown from start_s to end_s."""

    type: Identifier
    nation: Identifier
    center: Waypoint
    length_km: float = Field(gt=0, le=2000, description="length of the straight legs")
    width_km: float = Field(gt=0, le=500, description="turn diameter")
    heading_deg: float = Field(0.0, ge=0, lt=360, description="direction of the first straight leg")
    speed_kmh: float = Field(ge=1, le=30_000)
    alt_m: float = Field(ge=-500, le=100_000)
    alt_ref: AltitudeReference = AltitudeReference.msl
    start_s: float = Field(0.0, ge=0)
    end_s: float | None = Field(None, gt=0)
    flight_plan: bool = False
    iff: bool = False
    radar_on: bool = Field(True, description="the aircraft type's radar radiates")
    callsign: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _times_ordered(self) -> Orbit:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        return self


class CivilTraffic(_Frozen):
    """Background traffic along an airway: aircraft entering at a rate, at cruise levels."""

    type: Identifier
    nation: Identifier
    route: list[Waypoint] = Field(min_length=2)
    flights_per_hour: float = Field(gt=0, le=1000)
    both_directions: bool = True
    speed_kmh: float = Field(ge=1, le=3000)
    alt_min_m: float = Field(ge=0, le=20_000)
    alt_max_m: float = Field(ge=0, le=20_000)
    flight_plan: bool = True
    note: str | None = None

    @model_validator(mode="after")
    def _levels_ordered(self) -> CivilTraffic:
        if self.alt_min_m > self.alt_max_m:
            raise ValueError(f"alt_min_m ({self.alt_min_m}) is above alt_max_m ({self.alt_max_m})")
        return self


class Traffic(_Frozen):
    flights: dict[Identifier, Flight] = Field(default_factory=dict)
    raids: dict[Identifier, Raid] = Field(default_factory=dict)
    orbits: dict[Identifier, Orbit] = Field(default_factory=dict)
    civil: dict[Identifier, CivilTraffic] = Field(default_factory=dict)


class Emitter(_Frozen):
    """An EW emitter: a jammer type carried by a flight or sited on the ground."""

    jammer: Identifier
    nation: Identifier
    flight: Identifier | None = None
    location: Waypoint | None = None
    start_s: float = Field(0.0, ge=0)
    end_s: float | None = Field(None, gt=0)
    azimuth_deg: float | None = Field(None, ge=0, lt=360, description="boresight; None = omni")
    note: str | None = None

    @model_validator(mode="after")
    def _carried_or_sited(self) -> Emitter:
        if (self.flight is None) == (self.location is None):
            raise ValueError("an emitter needs exactly one of flight or location")
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s}) must be after start_s ({self.start_s})")
        return self


class EventKind(enum.StrEnum):
    unit_down = "unit_down"
    unit_up = "unit_up"
    link_cut = "link_cut"
    link_restored = "link_restored"
    link_jammed = "link_jammed"
    link_unjammed = "link_unjammed"
    node_down = "node_down"
    node_up = "node_up"


class Event(_Frozen):
    """A timed event: a unit, link or command node goes down or comes back."""

    at_s: float = Field(ge=0)
    kind: EventKind
    target: Identifier
    note: str | None = None


# ---------------------------------------------------------------------------------------------
# Variants: named choices between published alternatives
# ---------------------------------------------------------------------------------------------

_VARIANT_FIELDS = frozenset({"variants", "choose", "name", "description", "as_of", "seed"})


class VariantOption(_Frozen):
    """One alternative of a variant: its sources and the scenario fragment it sets.

    ``changes`` is written like a scenario file's own content (``units: {id: {field: value}}``):
    mappings merge over the data, anything else (a list, a number) replaces what is there.
    """

    name: NonEmptyText
    source: list[SourceId] = Field(min_length=1)
    assumed: dict[str, NonEmptyText] = Field(default_factory=dict)
    changes: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None

    @field_validator("changes")
    @classmethod
    def _changes_are_data(cls, changes: dict[str, Any]) -> dict[str, Any]:
        bad = sorted(k for k in changes if k in _VARIANT_FIELDS or k not in Scenario.model_fields)
        if bad:
            allowed = sorted(set(Scenario.model_fields) - _VARIANT_FIELDS)
            raise ValueError(f"a variant cannot change {', '.join(bad)} (it may change: "
                             f"{', '.join(allowed)})")
        # kept as JSON values (dates as ISO text), so that a scenario's JSON reads back equal; the
        # loader applies the option from the document, where YAML's dates are still dates
        return dict(to_jsonable_python(changes))


class Variant(_Frozen):
    """A choice between published alternatives (an equipment variant, a missile, a place).

    The data as written are the ``default`` option, which therefore changes nothing; a scenario
    selects another option with ``choose: {variant_id: option_id}``.
    """

    name: NonEmptyText
    default: Identifier
    options: dict[Identifier, VariantOption]
    note: str | None = None

    @field_validator("options")
    @classmethod
    def _a_choice(cls, options: dict[str, VariantOption]) -> dict[str, VariantOption]:
        if len(options) < 2:
            raise ValueError(f"a variant needs at least two options, its default (the data as "
                             f"written) and an alternative; it has {len(options)}")
        return options

    @model_validator(mode="after")
    def _default_is_the_data(self) -> Variant:
        if self.default not in self.options:
            raise ValueError(f"default '{self.default}' is not one of the options "
                             f"({', '.join(self.options)})")
        if self.options[self.default].changes:
            raise ValueError(f"the default option '{self.default}' must not have changes: the data "
                             "as written are the default")
        return self


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


class Scenario(_Frozen):
    """A whole scenario after includes, overrides and removals have been applied."""

    name: NonEmptyText
    description: str = ""
    as_of: dt.date
    arrangement: Arrangement = Arrangement.joint
    duration_s: float = Field(3600.0, gt=0, le=30 * 86400)
    tick_s: float = Field(1.0, ge=0.01, le=3600)
    seed: int = Field(0, ge=0, lt=2**63)
    sources: dict[SourceId, Source] = Field(default_factory=dict)
    catalog: Catalog = Field(default_factory=Catalog)
    nations: dict[Identifier, Nation] = Field(default_factory=dict)
    places: dict[Identifier, Place] = Field(default_factory=dict)
    units: dict[Identifier, Unit] = Field(default_factory=dict)
    command_nodes: dict[Identifier, CommandNode] = Field(default_factory=dict)
    links: dict[Identifier, Link] = Field(default_factory=dict)
    traffic: Traffic = Field(default_factory=Traffic)
    emitters: dict[Identifier, Emitter] = Field(default_factory=dict)
    events: dict[Identifier, Event] = Field(default_factory=dict)
    timeline: dict[Identifier, Milestone] = Field(default_factory=dict)
    data_period: DataPeriod | None = Field(
        None, description="the dates the scenario's data describe; other dates are refused unless allowed")
    readiness_states: dict[Identifier, ReadinessState] = Field(default_factory=dict)
    variants: dict[Identifier, Variant] = Field(
        default_factory=dict, description="named choices between published alternatives")
    choose: dict[Identifier, Identifier] = Field(
        default_factory=dict, description="the option selected for a variant (others: its default)")
    arrangements: dict[Arrangement, ArrangementRules] = Field(default_factory=dict)
    c2: C2Settings | None = None
    engagement: EngagementSettings | None = None
    sensing: SensingSettings | None = Field(
        None, description="model numbers of the sensing pass; default_sensing_settings() when absent")
    tracking: TrackingSettings | None = Field(
        None, description="model numbers of the node trackers; default_tracking_settings() when absent")
    truth_interval_s: float = Field(10.0, gt=0, description="sampling of truth.parquet")
    saturation_scales: list[Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=list, max_length=12,
        description="raid sizes, as multiples of the scenario's raids, of the run report's saturation curve")
    assumptions: list[NonEmptyText] = Field(
        default_factory=list, description="scenario-wide assumptions, shown in every report"
    )

    @field_validator("choose")
    @classmethod
    def _choices_exist(cls, choose: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        variants = info.data.get("variants") or {}
        for vid, option in choose.items():
            if vid not in variants:
                hint = difflib.get_close_matches(vid, list(variants), n=1)
                raise ValueError(f"no variant '{vid}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
                                 + f" (variants: {', '.join(variants) or 'none defined'})")
            if option not in variants[vid].options:
                raise ValueError(f"variant '{vid}' has no option '{option}' (options: "
                                 f"{', '.join(variants[vid].options)})")
        return choose

    def chosen(self, variant_id: str) -> str:
        """The option in effect for a variant: the one chosen, else its default."""
        return self.choose.get(variant_id, self.variants[variant_id].default)

    @field_validator("tick_s")
    @classmethod
    def _tick_fits(cls, tick_s: float, info: ValidationInfo) -> float:
        duration_s = info.data.get("duration_s")
        if duration_s is not None and tick_s > duration_s:
            raise ValueError(f"tick_s ({tick_s}) is longer than duration_s ({duration_s})")
        if duration_s is not None and duration_s / tick_s > MAX_CLOCK_STEPS:
            raise ValueError(
                f"duration_s / tick_s is {duration_s / tick_s:,.0f} clock steps, more than "
                f"{MAX_CLOCK_STEPS:,}; make tick_s longer or duration_s shorter")
        return tick_s

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with top-level fields replaced (the scenario itself stays immutable); the copy
        keeps the locations its fields were loaded from and the records its files removed."""
        copy = self.model_copy(update=changes)
        where = scenario_locations(self)
        if where:
            attach_locations(copy, where)
        removed = scenario_removed(self)
        if removed:
            attach_removed(copy, removed)
        return copy


@functools.cache
def default_tracking_settings() -> TrackingSettings:
    """The tracking settings of a scenario that gives no ``tracking:`` section (and of
    ``iadsim track``): those of the bundled reference data (``data/reference/tracking.yaml``)."""
    text = resources.files("iadsim").joinpath("data", "reference", "tracking.yaml").read_text("utf-8")
    return TrackingSettings.model_validate(yaml.safe_load(text)["tracking"])


@functools.cache
def default_sensing_settings() -> SensingSettings:
    """The sensing settings of a scenario that gives no ``sensing:`` section: those of the bundled
    reference data (``data/reference/sensing.yaml``), so the numbers and their stated assumptions
    live in one data file whether a scenario includes the reference data or not."""
    text = resources.files("iadsim").joinpath("data", "reference", "sensing.yaml").read_text("utf-8")
    return SensingSettings.model_validate(yaml.safe_load(text)["sensing"])
