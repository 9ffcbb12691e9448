"""Pure computation over GeoDataFrames, graphs and matrices (no file, network or database I/O)."""
