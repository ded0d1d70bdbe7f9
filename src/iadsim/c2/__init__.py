"""Command and control: who reports to which command node (more arrives with the C2 issue)."""

from iadsim.c2.chain import reporting_node, sensor_reporting_nodes

__all__ = ["reporting_node", "sensor_reporting_nodes"]
