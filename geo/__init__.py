"""Data in and out: boundaries, OSM road networks, features, layers and the database."""
