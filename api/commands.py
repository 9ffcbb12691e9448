"""Parsers and handlers of the analysis commands: points, routes, hotspots, cameras, layers."""

from __future__ import annotations

import argparse


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis commands to the top-level parser."""
