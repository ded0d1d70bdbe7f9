"""A read-only JSON API over a folder of run folders, served by ``iadsim serve``."""

from iadsim.web.app import create_app, is_loopback

__all__ = ["create_app", "is_loopback"]
