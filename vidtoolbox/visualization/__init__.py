"""Visualisation: flow/offset colour coding, heatmaps, comparison grids."""
