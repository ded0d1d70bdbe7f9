"""DataFrames and notebook displays for the API's results (``to_pandas``, ``to_geopandas``,
``_repr_html_``). pandas and GeoPandas are the optional ``analysis`` extra: imported on first use,
with the install command in the message when absent."""

from __future__ import annotations

import html
import importlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

__all__ = ["ANALYSIS_EXTRA", "html_table", "require", "to_geopandas_points", "to_pandas"]

ANALYSIS_EXTRA = "pip install 'iadsim[analysis]'"


def require(module: str, what: str) -> Any:
    """Import an optional module, or raise ImportError saying what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{what} needs {module.split('.')[0]}, which is not installed; install the "
                          f"analysis extra: {ANALYSIS_EXTRA}") from None


def to_pandas(data: pa.Table | Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> Any:
    """A pandas DataFrame of an Arrow table or of records (one mapping per row).

    Args:
        data: an Arrow table, or rows as mappings.
        columns: the columns in order (records only; default: the first row's keys).
    """
    pd = require("pandas", "to_pandas()")
    if isinstance(data, pa.Table):
        return data.to_pandas()
    rows = list(data)
    cols = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    return pd.DataFrame.from_records(rows, columns=cols)


def to_geopandas_points(frame: Any, lon: str = "lon_deg", lat: str = "lat_deg") -> Any:
    """A GeoDataFrame (WGS84, EPSG:4326) of a DataFrame with longitude and latitude columns in degrees;
    rows without a position get an empty geometry."""
    gpd = require("geopandas", "to_geopandas()")
    geometry = gpd.points_from_xy(frame[lon], frame[lat])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]], caption: str = "",
               numeric: Sequence[int] = ()) -> str:
    """A small HTML table for a notebook's display (cells escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td style="text-align:right">{html.escape(str(c))}</td>' if i in numeric
                         else f'<td style="text-align:left">{html.escape(str(c))}</td>'
                         for i, c in enumerate(row)) + "</tr>"
        for row in rows)
    cap = f"<caption style='text-align:left'>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
