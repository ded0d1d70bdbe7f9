"""Exports in the field's formats: CSV, JSON and GeoJSON (lon/lat) for now."""

from iadsim.io.oob import oob_to_csv, oob_to_geojson, oob_to_json, oob_to_records

__all__ = ["oob_to_csv", "oob_to_geojson", "oob_to_json", "oob_to_records"]
