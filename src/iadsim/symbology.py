"""One symbology for the report's maps, the viewer and the exports: NATO joint military symbols
(APP-6 / MIL-STD-2525C letter codes), with the frame fill by standard identity (affiliation) and the
frame's outline by nation (the stated convention for telling two friendly nations apart).

The viewer draws a code with milsymbol; the report's maps draw the same code's frame and icon with
matplotlib (``iadsim.report.figures``); the exports carry the code. The codes are those of
MIL-STD-2525C as listed in the Army C2 renderer's unit table (missioncommand/mil-sym-js,
``UnitConstantsC.js``): Air Defense Missile ``S*G*UCDM--``, Ground Surveillance Radar ``S*G*UUMRG-``,
Electronic Warfare ``S*G*UUMSE-``, Signal Unit ``S*G*UUS---``, Airport/Air Base ``S*G*IBA---H``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iadsim.scenario.schema import Scenario, Side

__all__ = ["AFFILIATION_FILL", "AFFILIATION_RGB", "FUNCTIONS", "NATION_FRAME", "UnitFunction",
           "affiliation_of", "nation_frame", "unit_function", "unit_sidc", "unit_symbol"]

AFFILIATION_RGB = {
    "friend": (128, 224, 255),
    "hostile": (255, 128, 128),
    "neutral": (170, 255, 170),
    "unknown": (255, 255, 128),
    "pending": (255, 255, 128),
}
"""Frame fills of the standard identities (APP-6 / MIL-STD-2525 light fills). Pending draws as unknown."""

AFFILIATION_FILL = {name: "#{:02x}{:02x}{:02x}".format(*rgb) for name, rgb in AFFILIATION_RGB.items()}
"""The same fills as hex colours."""

NATION_FRAME = {"BLR": "#2f7d32", "RUS": "#1f4e9c"}
"""Frame outline by nation (Belarus green, Russia dark blue); other nations ``OTHER_FRAME``."""
OTHER_FRAME = "#3a3f44"

_AFFILIATION_LETTER = {"friend": "F", "hostile": "H", "neutral": "N", "unknown": "U", "pending": "P"}


@dataclass(frozen=True)
class UnitFunction:
    """A unit family's symbol: its 2525C function code (positions 5–10) and its words."""

    family: str
    function: str
    label: str
    installation: bool = False


FUNCTIONS = {
    "sam": UnitFunction("sam", "UCDM--", "air defence missile unit"),
    "radar": UnitFunction("radar", "UUMRG-", "radar unit"),
    "ew": UnitFunction("ew", "UUMSE-", "electronic warfare unit"),
    "comms": UnitFunction("comms", "UUS---", "signal (communications) unit"),
    "air": UnitFunction("air", "IBA---", "air base", installation=True),
}
"""The unit families of the reference data and their symbols, in legend order."""

_ECHELON = {"battery": "E", "site": "E", "detachment": "E", "battalion": "F", "centre": "F",
            "regiment": "G", "brigade": "H"}
"""Echelon amplifier (position 12) by the last word of a unit kind: company/battery E, battalion F,
regiment/group G, brigade H."""


def unit_function(kind: str) -> UnitFunction:
    """The symbol family of a unit kind (``sam_battalion`` → air defence missile)."""
    for prefix, family in (("sam", "sam"), ("radar", "radar"), ("ew", "ew"), ("air", "air")):
        if kind.startswith(prefix):
            return FUNCTIONS[family]
    return FUNCTIONS["comms"]


def affiliation_of(scenario: Scenario, nation: str) -> str:
    """A nation's standard identity from the defender's view: defender friend, opposing hostile,
    neutral neutral, a nation the scenario does not know unknown."""
    if nation not in scenario.nations:
        return "unknown"
    return {Side.defender: "friend", Side.opposing: "hostile", Side.neutral: "neutral"}[
        scenario.nations[nation].side]


def nation_frame(nation: str) -> str:
    """The frame outline colour of a nation's symbols."""
    return NATION_FRAME.get(nation, OTHER_FRAME)


def unit_sidc(kind: str, affiliation: str) -> str:
    """The 15-character MIL-STD-2525C letter code of a unit (present, ground, with its echelon).

    Args:
        kind: the unit kind (``sam_battalion``, ``radar_brigade``, ``air_base``, ...).
        affiliation: ``friend``, ``hostile``, ``neutral``, ``unknown`` or ``pending``.
    """
    func = unit_function(kind)
    letter = _AFFILIATION_LETTER.get(affiliation, "U")
    # an installation has H in position 11 and no echelon; a unit its echelon in position 12
    modifiers = "H-" if func.installation else "-" + _ECHELON.get(kind.rsplit("_", 1)[-1], "-")
    return f"S{letter}GP{func.function}{modifiers}---"


_ECHELON_MARK = {"E": "I", "F": "II", "G": "III", "H": "X"}
"""The echelon amplifier drawn above a frame, by the code's position 12."""

SYMBOL_W_PT, SYMBOL_H_PT = 18.0, 12.0
"""A friendly ground frame's size on the report's maps (points; APP-6's 1.5 : 1)."""


def unit_symbol(sidc: str, frame_colour: str, scale: float = 1.0) -> Any:
    """A unit's APP-6 / MIL-STD-2525C symbol drawn with matplotlib patches, in points: the frame of
    its standard identity (friend rectangle, hostile diamond, neutral square, unknown circle) filled
    in the identity's colour and outlined in the nation's, its function's icon (air defence missile:
    dome and missile; radar: dish; electronic warfare: "EW"; signal: lightning; air base:
    installation bar and aircraft) and its echelon above. The code is ``iadsim.symbology``'s.

    Args:
        sidc: the 15-character letter code (``unit_sidc``).
        frame_colour: the frame's outline colour (``nation_frame``).
        scale: size factor.

    Returns:
        A matplotlib ``DrawingArea`` to place with an ``AnnotationBbox``.
    """
    from matplotlib.lines import Line2D
    from matplotlib.offsetbox import DrawingArea
    from matplotlib.patches import Arc, Circle, Polygon, Rectangle
    from matplotlib.text import Text

    identity = {"F": "friend", "H": "hostile", "N": "neutral"}.get(sidc[1], "unknown")
    function = sidc[4:10]
    w, h = SYMBOL_W_PT * scale, SYMBOL_H_PT * scale
    pad = 7 * scale
    box = DrawingArea(w + 2 * pad, h + 2 * pad, 0, 0)
    cx, cy = w / 2 + pad, h / 2 + pad
    fill = AFFILIATION_FILL[identity]
    style: dict[str, Any] = {"facecolor": fill, "edgecolor": frame_colour, "linewidth": 1.3 * scale}
    if identity == "friend":
        frame: Any = Rectangle((cx - w / 2, cy - h / 2), w, h, **style)
        fw, fh = w, h
    elif identity == "hostile":
        r = h * 0.75
        frame = Polygon([(cx, cy + r), (cx + r, cy), (cx, cy - r), (cx - r, cy)], closed=True, **style)
        fw, fh = r, r
    elif identity == "neutral":
        frame = Rectangle((cx - h / 2, cy - h / 2), h, h, **style)
        fw, fh = h, h
    else:
        frame = Circle((cx, cy), h * 0.62, **style)
        fw, fh = h * 1.1, h * 1.1
    box.add_artist(frame)
    ink: dict[str, Any] = {"color": "black", "linewidth": 0.9 * scale}
    left, right, bottom, top = cx - fw / 2, cx + fw / 2, cy - fh / 2, cy + fh / 2
    if function.startswith("UCD"):  # air defence: a dome on the frame's bottom; M: a missile
        box.add_artist(Arc((cx, bottom), fw * 0.9, fh * 1.2, theta1=0, theta2=180, **ink))
        if function.startswith("UCDM"):
            half = fw * 0.05
            box.add_artist(Polygon([(cx, bottom + fh * 0.75), (cx + half, bottom + fh * 0.55),
                                    (cx + half, bottom + fh * 0.12), (cx - half, bottom + fh * 0.12),
                                    (cx - half, bottom + fh * 0.55)], closed=True, facecolor="black",
                                   edgecolor="black", linewidth=0.4 * scale))
    elif function.startswith("UUMR"):  # radar: a dish on a stem
        box.add_artist(Arc((cx - fw * 0.05, cy + fh * 0.05), fw * 0.45, fh * 0.7, theta1=200, theta2=380,
                           **ink))
        box.add_artist(Line2D([cx - fw * 0.05, cx + fw * 0.12], [cy + fh * 0.05, cy - fh * 0.3], **ink))
    elif function.startswith("UUMSE"):  # electronic warfare
        box.add_artist(Text(cx, cy, "EW", ha="center", va="center", fontsize=6 * scale, fontweight="bold"))
    elif function.startswith("UUS"):  # signal: a lightning stroke corner to corner
        box.add_artist(Line2D([left, cx - fw * 0.05, cx + fw * 0.05, right],
                              [top, cy - fh * 0.1, cy + fh * 0.1, bottom], **ink))
    elif function.startswith("IBA"):  # an installation (bar on top) with an aircraft
        box.add_artist(Rectangle((cx - fw * 0.2, top), fw * 0.4, 2.2 * scale, facecolor="black",
                                 edgecolor="none"))
        box.add_artist(Text(cx, cy, "\u2708", ha="center", va="center", fontsize=8 * scale))
    mark = _ECHELON_MARK.get(sidc[11])
    if mark and sidc[10] != "H":
        box.add_artist(Text(cx, top + 1.2 * scale, mark, ha="center", va="bottom", fontsize=5.5 * scale,
                            fontweight="bold"))
    return box
