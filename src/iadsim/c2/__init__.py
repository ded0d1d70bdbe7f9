"""Command and control: the chain of command, the C2 network of each arrangement, alert duty,
identification, air policing and the C2 pass of a run (docs/models/c2.md)."""

from iadsim.c2.chain import reporting_node, sensor_reporting_nodes
from iadsim.c2.network import C2Error, C2Network, build_network
from iadsim.c2.operations import C2Result, ObjectClock, run_c2
from iadsim.c2.state import TrackerCache

__all__ = ["C2Error", "C2Network", "C2Result", "ObjectClock", "TrackerCache", "build_network",
           "reporting_node", "run_c2", "sensor_reporting_nodes"]
